"""The fairseq data directory: binarized slices merged per split in slice order, plus dict.txt."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mm_assets.common.atomic import AtomicGroup
from mm_assets.formats.fairseq_mmap import MMapFormatError, MMapWriter
from mm_assets.text.gpt2_bpe import N_SPECIAL

from .paths import OwtPaths


class DamagedSliceError(Exception):
    """A binarized slice cannot be merged: its `.bin` and `.idx` do not match, or one is unreadable."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"binarized slice {number:02d}: {reason}")
        self.number = number


def missing_binarized_slices(paths: OwtPaths, numbers: list[int]) -> list[int]:
    return [n for n in numbers
            if not all(paths.binarized_prefix(n).with_suffix(ext).is_file() for ext in (".bin", ".idx"))]


def write_data_dir(
    paths: OwtPaths,
    splits: dict[str, list[int]],
    dict_txt: Path,
    *,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Merge each split's binarized slices into `<fairseq_dir>/<split>.{bin,idx}` with dict.txt.

    All five files appear together (one atomic group); returns sequences and tokens per split.
    """
    out_dir = paths.fairseq_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict = {}
    with AtomicGroup() as group:
        for split, numbers in splits.items():
            writer = MMapWriter(out_dir / split, group)
            for number in numbers:
                try:
                    writer.add_dataset(paths.binarized_prefix(number))
                except MMapFormatError as exc:
                    raise DamagedSliceError(number, str(exc)) from exc
                if log:
                    log(f"{split}: added slice {number:02d} ({writer.tokens:,} tokens so far)")
            writer.finish()
            counts[split] = {"sequences": writer.count, "tokens": writer.tokens}
        dict_bytes = Path(dict_txt).read_bytes()
        group.path_for(out_dir / "dict.txt").write_bytes(dict_bytes)
    counts["dict_symbols"] = N_SPECIAL + dict_bytes.count(b"\n")
    return counts
