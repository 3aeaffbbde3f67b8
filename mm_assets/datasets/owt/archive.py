"""Read an OpenWebText slice: an outer tar of `.xz` members, each an xz-compressed tar of `.txt`.

Both tar levels are read as tars (never as text), in archive order. Errors name the slice file and
the member, so a truncated download or a corrupt member is found at once.
"""

from __future__ import annotations

import io
import lzma
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


class OwtArchiveError(Exception):
    """A slice or one of its members cannot be read."""


@dataclass(frozen=True)
class XzMember:
    name: str
    data: bytes


def iter_xz_members(slice_tar: str | Path, *, max_member_bytes: int = 1 << 30) -> Iterator[XzMember]:
    """Yield the `.xz` members of a slice tar in archive order (other members are skipped)."""
    slice_tar = Path(slice_tar)
    current = "(archive header)"
    try:
        with tarfile.open(slice_tar, mode="r:") as outer:
            for info in outer:
                current = info.name
                if not info.isfile() or not info.name.endswith(".xz"):
                    continue
                if info.size > max_member_bytes:
                    raise OwtArchiveError(
                        f"{slice_tar.name}: member {info.name}: {info.size} bytes exceeds the "
                        f"limit of {max_member_bytes}"
                    )
                handle = outer.extractfile(info)
                data = handle.read() if handle else b""
                if len(data) != info.size:
                    raise OwtArchiveError(
                        f"{slice_tar.name}: member {info.name}: truncated "
                        f"({len(data)} of {info.size} bytes)"
                    )
                yield XzMember(info.name, data)
            current = "(end of archive)"
            end = outer.offset
        _require_end_marker(slice_tar, end)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise OwtArchiveError(f"{slice_tar.name}: member {current}: {type(exc).__name__}: {exc}") from exc


def _require_end_marker(slice_tar: Path, offset: int) -> None:
    """tarfile stops quietly at EOF; a whole tar ends with two zero blocks after its last member."""
    with open(slice_tar, "rb") as handle:
        handle.seek(offset)
        marker = handle.read(1024)
    if len(marker) < 1024 or marker.strip(b"\0"):
        raise OwtArchiveError(
            f"{slice_tar.name}: member (end of archive): truncated, no end-of-archive marker at "
            f"byte {offset}; download the slice again"
        )


def decompress_member(member: XzMember, *, max_bytes: int = 1 << 31) -> bytes:
    """The inner tar of one member, refusing more than `max_bytes` (an xz bomb, a wrong file)."""
    decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_AUTO)
    data = decompressor.decompress(member.data, max_length=max_bytes)
    if not decompressor.eof:
        if decompressor.needs_input:
            raise EOFError("compressed data ended before the end-of-stream marker")
        raise OwtArchiveError(f"member {member.name}: decompresses to more than {max_bytes} bytes")
    return data


def iter_documents(member: XzMember, slice_name: str = "") -> Iterator[tuple[str, bytes]]:
    """Yield (name, raw bytes) of the `.txt` documents in one `.xz` member, in archive order."""
    where = f"{slice_name}: member {member.name}" if slice_name else f"member {member.name}"
    current = "(inner header)"
    try:
        inner_tar = decompress_member(member)
        # Whole-member decompression, then random-access tar reading: far cheaper than a
        # streaming tar over a decompressing stream, and a member is small.
        with tarfile.open(fileobj=io.BytesIO(inner_tar), mode="r:") as inner:
            for info in inner:
                current = info.name
                if not info.isfile():
                    continue
                handle = inner.extractfile(info)
                data = handle.read() if handle else b""
                if len(data) != info.size:
                    raise EOFError(f"document truncated ({len(data)} of {info.size} bytes)")
                yield info.name, data
            end = inner.offset
        if len(inner_tar) < end + 1024 or inner_tar[end:end + 1024].strip(b"\0"):
            current = "(end of inner archive)"
            raise EOFError("inner tar has no end-of-archive marker")
    except (tarfile.TarError, lzma.LZMAError, EOFError, OSError) as exc:
        raise OwtArchiveError(f"{where}: document {current}: {type(exc).__name__}: {exc}") from exc
