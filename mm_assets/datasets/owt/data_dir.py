"""The fairseq data directory: binarized slices merged per split in slice order, plus dict.txt.

One copy of the token data: with `release_slices` (MM_RAW_FILES=release), once a split's merged
`.bin` is committed and each slice's bytes in it are proved against the sha256 taken while they
were copied, each slice's own `.bin` is released: its record says where its bytes lie in the merged
file (offset, length, sha256). A released slice is still checked (`check_slice`: its `.idx`, kept,
against its bytes in the merged file), and a rerun with other split settings copies it back out
first (`restore_released_slice`). An unchanged rerun leaves the merged files as they are.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from mm_assets.common.atomic import AtomicGroup, atomic_write
from mm_assets.common.released import forget_release, is_present, read_release, record_path, release
from mm_assets.formats.fairseq_mmap import (
    ByteRange,
    DatasetSummary,
    MMapFormatError,
    MMapWriter,
    check_dataset,
    sha256_of_range,
)
from mm_assets.text.gpt2_bpe import N_SPECIAL

from .paths import OwtPaths

COPY_BLOCK = 1 << 24


class DamagedSliceError(Exception):
    """A binarized slice cannot be merged: its `.bin` and `.idx` do not match, or one is unreadable."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"binarized slice {number:02d}: {reason}")
        self.number = number


def missing_binarized_slices(paths: OwtPaths, numbers: list[int]) -> list[int]:
    """Slices with no `.idx`, or whose `.bin` is neither there nor released into a merged split."""
    return [n for n in numbers if not (paths.binarized_prefix(n).with_suffix(".idx").is_file()
                                       and is_present(paths.binarized_prefix(n).with_suffix(".bin")))]


def released_slice(paths: OwtPaths, number: int) -> tuple[Path, ByteRange] | None:
    """The merged `.bin` holding a released slice's bytes, and where; None when not released."""
    bin_path = paths.binarized_prefix(number).with_suffix(".bin")
    record = read_release(bin_path)
    if bin_path.exists() or record is None or "offset" not in record.facts:
        return None
    merged = record.output_paths(record_path(bin_path))[0]
    return merged, ByteRange(int(record.facts["offset"]), int(record.facts["length"]), record.sha256)


def check_slice(paths: OwtPaths, number: int) -> DatasetSummary:
    """`check_dataset` of a slice; of a released one, its `.idx` against its bytes in the merged
    split, which must still have the sha256 recorded when the slice was released."""
    prefix = paths.binarized_prefix(number)
    released = released_slice(paths, number)
    if released is None:
        return check_dataset(prefix)
    merged, where = released
    summary = check_dataset(prefix, bin_size=where.length)
    if not merged.is_file() or sha256_of_range(merged, where.offset, where.length) != where.sha256:
        raise MMapFormatError(
            f"{merged}: bytes {where.offset:,}-{where.offset + where.length:,} (slice {number:02d}, released into "
            f"it) do not have the sha256 recorded when the slice was released; materialize owt_fairseq_data "
            "again after owt_binarized_slice for that partition")
    return summary


def restore_released_slice(paths: OwtPaths, number: int) -> bool:
    """Copy a released slice's bytes back out of its merged split (proved by sha256); False when
    the slice was not released."""
    released = released_slice(paths, number)
    if released is None:
        return False
    merged, where = released
    bin_path = paths.binarized_prefix(number).with_suffix(".bin")
    with atomic_write(bin_path) as out, open(merged, "rb") as source:
        source.seek(where.offset)
        digest, left = hashlib.sha256(), where.length
        while left > 0 and (block := source.read(min(left, COPY_BLOCK))):
            digest.update(block)
            out.write(block)
            left -= len(block)
        if digest.hexdigest() != where.sha256:  # raised inside: the temp file is removed
            raise DamagedSliceError(number, f"its bytes in {merged} no longer have the sha256 recorded "
                                    "when it was released")
    forget_release(bin_path)
    return True


def _merged_as_asked(paths: OwtPaths, splits: dict[str, list[int]], dict_bytes: bytes) -> bool:
    """Every slice of every split is released into that split's merged file, in slice order and
    back to back, and the directory is whole: nothing to write."""
    out_dir = paths.fairseq_dir
    if not (out_dir / "dict.txt").is_file() or (out_dir / "dict.txt").read_bytes() != dict_bytes:
        return False
    for split, numbers in splits.items():
        offset = 0
        for number in numbers:
            released = released_slice(paths, number)
            if released is None or released[0] != out_dir / f"{split}.bin" or released[1].offset != offset:
                return False
            offset += released[1].length
        merged = out_dir / f"{split}.bin"
        if not (merged.is_file() and (out_dir / f"{split}.idx").is_file()) or merged.stat().st_size != offset:
            return False
    return True


def write_data_dir(
    paths: OwtPaths,
    splits: dict[str, list[int]],
    dict_txt: Path,
    *,
    release_slices: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Merge each split's binarized slices into `<fairseq_dir>/<split>.{bin,idx}` with dict.txt.

    All five files appear together (one atomic group); returns sequences and tokens per split,
    `dict_symbols`, `slices_released` and `up_to_date`.
    """
    out_dir = paths.fairseq_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    dict_bytes = Path(dict_txt).read_bytes()
    counts: dict = {"dict_symbols": N_SPECIAL + dict_bytes.count(b"\n"), "slices_released": 0}
    counts["up_to_date"] = _merged_as_asked(paths, splits, dict_bytes)
    if counts["up_to_date"]:
        for split in splits:
            summary = check_dataset(out_dir / split)
            counts[split] = {"sequences": summary.count, "tokens": summary.tokens}
        if log:
            log("every slice is already merged, in this order, into the data directory; kept as it is")
        return counts
    for number in sorted({n for numbers in splits.values() for n in numbers}):
        if restore_released_slice(paths, number) and log:
            log(f"slice {number:02d}: copied back out of the merged split it was released into (new split settings)")
    ranges: dict[str, list[tuple[int, ByteRange]]] = {}
    with AtomicGroup() as group:
        for split, numbers in splits.items():
            writer = MMapWriter(out_dir / split, group)
            ranges[split] = []
            for number in numbers:
                try:
                    ranges[split].append((number, writer.add_dataset(paths.binarized_prefix(number))))
                except MMapFormatError as exc:
                    raise DamagedSliceError(number, str(exc)) from exc
                if log:
                    log(f"{split}: added slice {number:02d} ({writer.tokens:,} tokens so far)")
            writer.finish()
            counts[split] = {"sequences": writer.count, "tokens": writer.tokens}
        group.path_for(out_dir / "dict.txt").write_bytes(dict_bytes)
    if release_slices:
        counts["slices_released"] = _release_merged_slices(paths, ranges, log)
    return counts


def _release_merged_slices(paths: OwtPaths, ranges: dict[str, list[tuple[int, ByteRange]]],
                           log: Callable[[str], None] | None) -> int:
    """Prove each slice's bytes in the committed merged file, then release the slice's `.bin`."""
    released = 0
    for split, placed in ranges.items():
        merged = paths.fairseq_dir / f"{split}.bin"
        check_dataset(paths.fairseq_dir / split)
        for number, where in placed:
            if sha256_of_range(merged, where.offset, where.length) != where.sha256:
                raise DamagedSliceError(number, f"its bytes in {merged} differ from the slice's .bin just "
                                        "copied (a disk error?); nothing was released: materialize owt_fairseq_data again")
            release(paths.binarized_prefix(number).with_suffix(".bin"), size=where.length, sha256=where.sha256,
                    outputs=[merged, merged.with_suffix(".idx")],
                    facts={"offset": where.offset, "length": where.length})
            released += 1
        if log:
            log(f"{split}: {len(placed)} slice .bin file(s) released into {merged.name} (one copy of the tokens)")
    return released
