"""Clean one OWT slice (raw tar) into a text file of lines, members cleaned in parallel."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mm_assets.common.atomic import atomic_write
from mm_assets.common.parallel import default_workers, ordered_map
from mm_assets.common.progress import Progress

from .archive import XzMember, iter_documents, iter_xz_members
from .clean_rule import CleanStats, clean_document


def _clean_member(job: tuple[str, XzMember]) -> tuple[bytes, CleanStats, int]:
    slice_name, member = job
    stats = CleanStats()
    lines: list[str] = []
    for _, raw in iter_documents(member, slice_name):
        lines.extend(clean_document(raw, stats))
    text = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    stats.bytes_out = len(text)
    return text, stats, len(member.data)


def clean_slice(
    slice_tar: str | Path,
    output: str | Path,
    *,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
    progress_interval: float = 10.0,
) -> dict[str, int]:
    """Write the cleaned lines of `slice_tar` to `output` (atomically); return the counts."""
    slice_tar = Path(slice_tar)
    workers = workers or default_workers()
    stats = CleanStats()
    members = 0
    progress = Progress(f"clean {slice_tar.name}", log, total=slice_tar.stat().st_size,
                        interval=progress_interval)
    jobs = ((slice_tar.name, member) for member in iter_xz_members(slice_tar))
    with atomic_write(output) as writer:
        for text, member_stats, compressed_size in ordered_map(_clean_member, jobs, workers=workers):
            writer.write(text)
            stats.add(member_stats)
            members += 1
            progress.advance(compressed_size)
    progress.finish()
    return {"xz_members": members, **stats.as_dict()}
