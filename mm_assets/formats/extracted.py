"""An extracted folder proved against its zip's member CRC-32s, without the zip.

`extract_folder` records every member's size and CRC-32 in `.extracted-<folder>.json`; this reads
each extracted file again and compares. It is what lets the zip go (MM_RAW_FILES=release): the
asset runs it before releasing, and the asset check runs it after, so a damaged or missing image
is found whether or not the zip is still on disk.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from mm_assets.common.parallel import ordered_map

from .zip import extraction_record

READ_BLOCK = 1 << 20
MAX_LISTED = 10


@dataclass
class FolderProof:
    """What `verify_extracted_folder` found."""

    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)  # at most MAX_LISTED, then a count
    bad: int = 0

    @property
    def ok(self) -> bool:
        return self.bad == 0


def _crc_and_size(path: Path) -> tuple[int, int] | None:
    try:
        crc, size = 0, 0
        with open(path, "rb") as handle:
            while block := handle.read(READ_BLOCK):
                crc, size = zlib.crc32(block, crc), size + len(block)
        return crc, size
    except FileNotFoundError:
        return None


def verify_extracted_folder(dest_parent: str | os.PathLike, top: str, *, workers: int = 1) -> FolderProof:
    """Every member recorded for `dest_parent/top` is there with its size and CRC-32."""
    dest_parent = Path(dest_parent)
    record_file = extraction_record(dest_parent, top)
    proof = FolderProof()
    try:
        members = json.loads(record_file.read_text())["members"]
    except (FileNotFoundError, KeyError, ValueError) as exc:
        proof.bad = 1
        proof.problems.append(f"{record_file}: no member list to prove {top}/ against ({type(exc).__name__}); "
                              "extract the folder again from its zip")
        return proof
    names = sorted(members)
    found = ordered_map(lambda name: _crc_and_size(dest_parent / top / name), names, workers=workers)
    for name, actual in zip(names, found):
        size, crc = members[name]
        problem = ("missing" if actual is None else
                   f"{actual[1]:,} bytes, the zip's member has {size:,}" if actual[1] != size else
                   f"CRC-32 {actual[0]:08x}, the zip's member has {crc:08x}" if actual[0] != crc else None)
        if problem is None:
            proof.files += 1
            proof.bytes += size
            continue
        proof.bad += 1
        if len(proof.problems) < MAX_LISTED:
            proof.problems.append(f"{top}/{name}: {problem}")
    if proof.bad > MAX_LISTED:
        proof.problems.append(f"... and {proof.bad - MAX_LISTED:,} more")
    return proof
