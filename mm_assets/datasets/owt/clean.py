"""Clean one OWT slice (raw tar) into a text file of lines, members cleaned in parallel.

The caller's thread reads the outer tar and writes the output in archive order; worker threads
decompress members (liblzma releases the GIL) and clean their documents.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from mm_assets.common.atomic import atomic_write
from mm_assets.common.counts import Tally
from mm_assets.common.parallel import IN_FLIGHT_BYTES, default_workers, ordered_map
from mm_assets.common.progress import Progress
from mm_assets.formats.archive_limits import ArchiveLimits

from .archive import XzMember, iter_documents, iter_xz_members
from .clean_rule import CleanStats, clean_documents

# An xz member in flight holds its compressed bytes, then the text it decompresses to and the
# cleaned text (OWT's text is about 3.3x its xz size): the bytes ordered_map's budget counts.
TEXT_PER_XZ_BYTE = 8


def _clean_member(slice_name: str, member: XzMember, limits: ArchiveLimits) -> tuple[bytes, CleanStats, Tally]:
    stats, skipped = CleanStats(), Tally()
    documents = [raw for _, raw in iter_documents(member, slice_name, skipped, limits=limits)]
    lines = clean_documents(documents, stats)
    text = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    stats.bytes_out = len(text)
    return text, stats, skipped


def clean_slice(
    slice_tar: str | Path,
    output: str | Path,
    *,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
    progress_interval: float = 10.0,
    limits: ArchiveLimits = ArchiveLimits(),
) -> dict:
    """Write the cleaned lines of `slice_tar` to `output` (atomically); return the counts.

    Besides the cleaning counts: `xz_members`, `skipped_outer_members`, `skipped_inner_members`,
    `skipped_members` (a Tally by kind, with example names) and `sha256` of the text written (what
    proves the text once it is released, docs/footprint.md). A member over a cap of `limits` raises
    `ArchiveLimitError` and nothing is written.
    """
    slice_tar = Path(slice_tar)
    workers = workers or default_workers()
    stats, skipped = CleanStats(), Tally()
    members = 0
    digest = hashlib.sha256()
    progress = Progress(f"clean {slice_tar.name}", log, total=slice_tar.stat().st_size,
                        interval=progress_interval)
    with atomic_write(output) as writer:
        xz_members = iter_xz_members(slice_tar, skipped)
        cleaned = ordered_map(lambda member: (_clean_member(slice_tar.name, member, limits), len(member.data)),
                              xz_members, workers=workers,
                              size=lambda member: TEXT_PER_XZ_BYTE * len(member.data), max_bytes=IN_FLIGHT_BYTES)
        for (text, member_stats, member_skipped), compressed_size in cleaned:
            writer.write(text)
            digest.update(text)
            stats.add(member_stats)
            skipped.update(member_skipped)
            members += 1
            progress.advance(compressed_size)
    progress.finish()
    by_level = {level: sum(n for key, n in skipped.counts.items() if key.startswith(level))
                for level in ("outer", "inner")}
    return {"xz_members": members, **stats.as_dict(), "skipped_outer_members": by_level["outer"],
            "skipped_inner_members": by_level["inner"], "skipped_members": skipped,
            "sha256": digest.hexdigest()}


def count_lines_and_hash(text: str | Path) -> tuple[int, str]:
    """The number of lines of a cleaned text and its sha256, in one read: what proves the binarized
    slice against it before the text is released, and what its release record keeps."""
    digest, lines = hashlib.sha256(), 0
    with open(text, "rb") as handle:
        while block := handle.read(1 << 24):
            digest.update(block)
            lines += block.count(b"\n")
    return lines, digest.hexdigest()
