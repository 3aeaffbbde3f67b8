"""The GPT-2 BPE files fairseq uses (encoder.json, vocab.bpe, dict.txt): pinned, fetched, loaded.

The tokenizer is tiktoken built offline from the verified files; the fairseq dictionary becomes a
lookup table from GPT-2 id to fairseq index (`dict.txt` line i -> index i + 4).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from mm_assets.common.atomic import atomic_write
from mm_assets.common.hashing import sha256_of
from mm_assets.common.missing import MissingInputError
from mm_assets.fetch.http import DownloadError, FetchPolicy
from mm_assets.fetch.sources import fetch_file

OFFICIAL_GPT2_BPE_URL = "https://dl.fbaipublicfiles.com/fairseq/gpt2_bpe"

# Pinned checksums (provenance: shared/gpt2_bpe/SOURCES.md). encoder.json and vocab.bpe are the
# hashes tiktoken itself pins for OpenAI's GPT-2 files.
GPT2_BPE_SHA256 = {
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "dict.txt": "2c31c5b236661067fe8626775eb995ef5fe808ac87d2ad4a6ddbef68550f5cc6",
}

# The same BPE ranks in tiktoken's own file format (base64 token, rank), derived from the two
# pinned files when gpt2_bpe is materialized: loading it takes 30 ms instead of 180 ms, once per
# encoding step. The derivation is deterministic, so its hash is pinned too.
RANKS_FILE = "gpt2.tiktoken"
RANKS_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"

# fairseq's Dictionary specials, in index order.
BOS, PAD, EOS, UNK = 0, 1, 2, 3
N_SPECIAL = 4
GPT2_VOCAB_SIZE = 50257
GPT2_NEWLINE_ID = 198  # the token of a lone "\n"; never produced inside a cleaned line
# tiktoken's own GPT-2 pattern (r50k): the same language as fairseq's, written as tiktoken ships it.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@dataclass(frozen=True)
class Gpt2BpeFiles:
    directory: Path

    @property
    def encoder_json(self) -> Path:
        return self.directory / "encoder.json"

    @property
    def vocab_bpe(self) -> Path:
        return self.directory / "vocab.bpe"

    @property
    def dict_txt(self) -> Path:
        return self.directory / "dict.txt"

    @property
    def ranks(self) -> Path:
        return self.directory / RANKS_FILE


def fetch_gpt2_bpe(
    source: str,
    dest_dir: str | Path,
    *,
    policy: FetchPolicy = FetchPolicy(),
    log: Callable[[str], None] | None = None,
) -> dict[str, dict]:
    """Fetch the three files from a URL or folder into `dest_dir`, each checked against its pin.

    A file already present with the right hash is kept. Returns size and sha256 per file.
    """
    dest_dir = Path(dest_dir)
    report = {}
    for name, expected in GPT2_BPE_SHA256.items():
        dest = dest_dir / name
        if dest.is_file() and sha256_of(dest) == expected:
            report[name] = {"bytes": dest.stat().st_size, "sha256": expected, "fetched": False}
            continue
        result = fetch_file(source, name, dest, policy=policy, expected_sha256=expected, log=log)
        report[name] = {"bytes": result.size, "sha256": result.sha256, "fetched": True}
    ranks = write_ranks_file(Gpt2BpeFiles(dest_dir))
    report[RANKS_FILE] = {"bytes": ranks.stat().st_size, "sha256": RANKS_SHA256, "fetched": False}
    return report


def verify_gpt2_bpe(directory: str | Path) -> Gpt2BpeFiles:
    """Check that a folder holds the three pinned files; raise naming the first that does not."""
    files = Gpt2BpeFiles(Path(directory))
    for name, expected in GPT2_BPE_SHA256.items():
        path = files.directory / name
        if not path.is_file():
            raise MissingInputError(path, "gpt2_bpe")
        actual = sha256_of(path)
        if actual != expected:
            raise DownloadError(f"{path}: sha256 mismatch: expected {expected}, got {actual}; "
                                "materialize gpt2_bpe again")
    return files


def _derive_ranks(files: Gpt2BpeFiles) -> dict[bytes, int]:
    """tiktoken's byte-level ranks from encoder.json + vocab.bpe (tiktoken checks both pins)."""
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    return data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(files.vocab_bpe),
        encoder_json_file=str(files.encoder_json),
        vocab_bpe_hash=GPT2_BPE_SHA256["vocab.bpe"],
        encoder_json_hash=GPT2_BPE_SHA256["encoder.json"],
    )


def write_ranks_file(files: Gpt2BpeFiles) -> Path:
    """Write `gpt2.tiktoken` beside the pinned files (kept when it is already right)."""
    if files.ranks.is_file() and sha256_of(files.ranks) == RANKS_SHA256:
        return files.ranks
    ranks = _derive_ranks(files)
    data = b"".join(base64.b64encode(token) + b" %d\n" % rank
                    for token, rank in sorted(ranks.items(), key=lambda item: item[1]))
    actual = hashlib.sha256(data).hexdigest()
    if actual != RANKS_SHA256:
        raise ValueError(f"{files.ranks}: derived ranks hash to {actual}, expected {RANKS_SHA256}")
    with atomic_write(files.ranks) as handle:
        handle.write(data)
    return files.ranks


def _load_ranks(files: Gpt2BpeFiles) -> dict[bytes, int]:
    """The ranks from `gpt2.tiktoken` when it is there and right, else derived afresh."""
    if files.ranks.is_file():
        data = files.ranks.read_bytes()
        if hashlib.sha256(data).hexdigest() == RANKS_SHA256:
            return {base64.b64decode(token): int(rank)
                    for token, rank in (line.split() for line in data.splitlines())}
    return _derive_ranks(files)


def load_encoding(files: Gpt2BpeFiles):
    """tiktoken's GPT-2 encoding, built offline from the local verified files."""
    import tiktoken

    return tiktoken.Encoding(
        "gpt2-fairseq",
        pat_str=GPT2_PATTERN,
        mergeable_ranks=_load_ranks(files),
        special_tokens={"<|endoftext|>": 50256},
        explicit_n_vocab=GPT2_VOCAB_SIZE,
    )


def load_fairseq_lookup(dict_txt: str | Path) -> tuple[np.ndarray, int]:
    """Map GPT-2 id -> fairseq index as fairseq's Dictionary would; unknown ids map to <unk>.

    Returns the table and the dictionary size (specials included).
    """
    table = np.full(GPT2_VOCAB_SIZE, UNK, dtype=np.uint16)
    size = N_SPECIAL
    seen: set[str] = set()
    with open(dict_txt, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle):
            symbol = line.rstrip().rsplit(" ", 1)[0]
            if symbol in seen:  # fairseq's Dictionary refuses duplicates too
                raise ValueError(f"{dict_txt}:{line_no + 1}: duplicate symbol {symbol!r}")
            seen.add(symbol)
            size += 1
            # The BPE step writes ids as plain decimal strings, so only those symbols can match.
            if symbol.isascii() and symbol.isdigit() and symbol == str(int(symbol)):
                gpt2_id = int(symbol)
                if gpt2_id < GPT2_VOCAB_SIZE:
                    table[gpt2_id] = N_SPECIAL + line_no
    if size >= 65500:
        raise ValueError(f"{dict_txt}: {size} symbols do not fit the uint16 token format")
    return table, size
