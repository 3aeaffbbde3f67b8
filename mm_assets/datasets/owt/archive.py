"""Read an OpenWebText slice: an outer tar of `.xz` members, each an xz-compressed tar of `.txt`.

Both tar levels are read as tars (never as text), in archive order. Only `.xz` outer members and
`.txt` inner members are read; every other member is counted by kind (docs/data-rules.md,
"OpenWebText archives"). Errors name the slice file and the member, and say where the damage is.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from mm_assets.common.counts import Tally
from mm_assets.fetch.verify import VerificationError
from mm_assets.formats import tar, xz
from mm_assets.formats.archive_limits import ArchiveLimitError, ArchiveLimits

TAR_MAGIC_OFFSET, TAR_MAGIC = 257, b"ustar"
MAX_MEMBER_BYTES = 1 << 30  # one compressed `.xz` member


class OwtArchiveError(Exception):
    """A slice or one of its members cannot be read; the message names both."""


@dataclass(frozen=True)
class XzMember:
    name: str
    data: bytes


def skipped_kind(name: str, kind: str) -> str:
    """How a skipped member is counted: its kind (`directory`, `link`...), or a file's extension."""
    if kind != "file":
        return kind
    return Path(name).suffix.lower() or "(no extension)"


def is_tar(head: bytes) -> bool:
    return head[TAR_MAGIC_OFFSET:TAR_MAGIC_OFFSET + len(TAR_MAGIC)] == TAR_MAGIC


def _require_end_marker(marker: bytes, offset: int, size: int, where: str) -> None:
    """tarfile stops quietly at EOF; a whole tar ends with two zero blocks after its last member.
    `marker` is what the file holds at `offset` (where the last member ends) of its `size` bytes."""
    if len(marker) < tar.END_MARKER_BYTES or any(marker):
        cut = "truncated" if offset + tar.END_MARKER_BYTES > size else "damaged"
        raise OwtArchiveError(
            f"{where}: {cut}: no end-of-archive marker at byte {offset:,} (the file ends at byte {size:,})")


def iter_xz_members(
    slice_tar: str | Path, skipped: Tally | None = None, *, max_member_bytes: int = MAX_MEMBER_BYTES,
) -> Iterator[XzMember]:
    """Yield the `.xz` members of a slice tar in archive order; count the others in `skipped`."""
    slice_tar = Path(slice_tar)
    current = "(archive header)"
    with open(slice_tar, "rb") as handle:
        head = handle.read(512)
        if not is_tar(head):
            raise OwtArchiveError(f"{slice_tar.name}: not a tar archive (no ustar header at byte 0)")
        handle.seek(0)
        try:
            with tarfile.open(fileobj=handle, mode="r:") as outer:
                for info in outer:
                    current = info.name
                    if not (info.isfile() and info.name.endswith(".xz")):
                        if skipped is not None:
                            skipped.add(f"outer {skipped_kind(info.name, tar.entry_kind(info))}", example=info.name)
                        continue
                    if info.size > max_member_bytes:
                        raise OwtArchiveError(
                            f"{slice_tar.name}: member {info.name}: {info.size:,} bytes exceeds the "
                            f"limit of {max_member_bytes:,}")
                    try:
                        data = outer.extractfile(info).read()
                    except tarfile.ReadError:
                        data = b""
                    if len(data) != info.size:
                        raise OwtArchiveError(
                            f"{slice_tar.name}: member {info.name}: truncated: the member needs bytes "
                            f"{info.offset_data:,}-{info.offset_data + info.size:,}, the file ends at byte "
                            f"{slice_tar.stat().st_size:,}")
                    yield XzMember(info.name, data)
                end = outer.offset
        except tarfile.TarError as exc:
            raise OwtArchiveError(f"{slice_tar.name}: member {current}: {type(exc).__name__}: {exc}") from exc
        handle.seek(end)
        marker = handle.read(tar.END_MARKER_BYTES)
    _require_end_marker(marker, end, slice_tar.stat().st_size, f"{slice_tar.name}: after member {current}")


def verify_slice(slice_tar: str | Path) -> str:
    """Check a downloaded slice without decoding its text: the outer tar is read to its end marker
    and every `.xz` member's stream framing is checked (as `xz --list` does). Block contents are
    checked when owt_clean_slice decodes them. Returns what was checked."""
    members = streams = inner_bytes = 0
    skipped = Tally()
    for member in iter_xz_members(slice_tar, skipped):
        try:
            summary = xz.check_structure(member.data)
        except xz.XzError as exc:
            raise OwtArchiveError(f"{Path(slice_tar).name}: member {member.name}: {exc}") from exc
        members += 1
        streams += summary.streams
        inner_bytes += summary.uncompressed_bytes
    return (f"tar read to its end-of-archive marker; {members:,} .xz members framed soundly "
            f"({streams:,} xz streams, {inner_bytes:,} bytes inside); {skipped.total():,} other members")


def verify_raw_slice(path: Path) -> str:
    """`verify_slice` as a download check: a failure makes the fetch remove the file and retry."""
    try:
        return verify_slice(path)
    except OwtArchiveError as exc:
        raise VerificationError(str(exc)) from exc


def decompress_member(member: XzMember, *, limits: ArchiveLimits = ArchiveLimits(), slice_name: str = "") -> bytes:
    """The inner tar of one member: every xz stream decoded, garbage refused (`OwtArchiveError`).

    A text member for `limits`: the size its xz indexes declare is checked first, and decoding
    stops at the cap whatever they declare (`ArchiveLimitError`: the same bytes are refused again,
    so the slice is not damaged, only refused)."""
    label = f"{slice_name}: member {member.name}" if slice_name else f"member {member.name}"
    compressed = len(member.data)
    try:
        declared = xz.check_structure(member.data).uncompressed_bytes
    except xz.XzError:
        declared = None  # decoding names the damage, and where it is
    if declared is not None:
        limits.check_member(label, declared, compressed, text=True)
    try:
        return xz.decompress(member.data, max_bytes=limits.read_cap(compressed, text=True))
    except xz.XzSizeError as exc:
        raise ArchiveLimitError(f"{label}: refused: it inflated past its cap while being decoded "
                                f"({limits.read_cap_words(compressed, text=True)}): {exc}") from exc
    except xz.XzError as exc:
        raise OwtArchiveError(f"{label}: {exc}") from exc


def iter_documents(member: XzMember, slice_name: str = "", skipped: Tally | None = None, *,
                   limits: ArchiveLimits = ArchiveLimits()) -> Iterator[tuple[str, bytes]]:
    """Yield (name, raw bytes) of the `.txt` documents in one `.xz` member, in archive order.

    The member is decompressed whole and its inner tar read in memory: far cheaper than a
    streaming tar over a decompressing stream, and a member is small.
    """
    where = f"{slice_name}: member {member.name}" if slice_name else f"member {member.name}"
    inner_tar = decompress_member(member, limits=limits, slice_name=slice_name)
    try:
        entries = tar.read_entries(inner_tar)
    except tar.TarFormatError as exc:
        raise OwtArchiveError(f"{where}: inner tar: {exc}") from exc
    for entry in entries:
        if entry.kind == "file" and entry.name.endswith(".txt"):
            yield entry.name, inner_tar[entry.offset:entry.offset + entry.size]
        elif skipped is not None:
            skipped.add(f"inner {skipped_kind(entry.name, entry.kind)}", example=f"{member.name}/{entry.name}")
