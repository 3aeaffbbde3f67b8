"""Cleaned text -> fairseq mmap `.bin/.idx`, one sequence per line, blocks encoded in parallel."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from mm_assets.common.atomic import AtomicGroup
from mm_assets.common.parallel import default_workers, ordered_map
from mm_assets.common.progress import Progress
from mm_assets.formats.fairseq_mmap import MMapWriter

from .encode import FairseqGpt2Encoder
from .gpt2_bpe import Gpt2BpeFiles

DEFAULT_BLOCK_BYTES = 1 << 22


def iter_line_blocks(path: str | Path, block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[bytes]:
    """Yield chunks of about `block_bytes` that end at line ends (a final line gets its "\\n")."""
    carry = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(block_bytes):
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data  # one line longer than a block: keep reading
                continue
            carry = data[cut:]
            yield data[:cut]
    if carry:
        yield carry + b"\n"


def binarize_text(
    text_path: str | Path,
    out_prefix: str | Path,
    bpe_dir: str | Path,
    *,
    workers: int | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    log: Callable[[str], None] | None = None,
    progress_interval: float = 10.0,
) -> dict[str, int]:
    """Encode every line of `text_path` into `<out_prefix>.bin/.idx`; both appear atomically."""
    text_path, out_prefix = Path(text_path), Path(out_prefix)
    workers = workers or default_workers()
    progress = Progress(f"encode {text_path.name}", log, total=text_path.stat().st_size,
                        interval=progress_interval)
    counts = {"unk": 0, "reference_split_lines": 0}
    with AtomicGroup() as group:
        writer = MMapWriter(out_prefix, group)
        encoder = FairseqGpt2Encoder(Gpt2BpeFiles(Path(bpe_dir)))  # one, shared by the threads

        def encode(block: bytes):
            return (*encoder.encode_block(block), len(block))

        results = ordered_map(encode, iter_line_blocks(text_path, block_bytes), workers=workers)
        for tokens, sizes, block_counts, nbytes in results:
            writer.add_block(tokens, sizes)
            for key, value in block_counts.items():
                counts[key] += value
            progress.advance(nbytes)
        writer.finish()
    progress.finish()
    return {"sequences": writer.count, "tokens": writer.tokens, "unk_tokens": counts["unk"],
            "reference_split_lines": counts["reference_split_lines"],
            "bytes_in": text_path.stat().st_size}
