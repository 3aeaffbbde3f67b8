"""Zip archives from upstream: checked when fetched, read member by member, extracted safely.

- **Checked** (`check_zip`): the central directory is readable (a truncated zip has none), every
  member's local header is where the directory says, with the same name, and its data ends inside
  the file. When the members hold at most `crc_limit_bytes` in all (caption and region zips),
  every member is read and its CRC-32 checked too; the image zips (13 GB for COCO train2014) are
  CRC-checked member by member as they are extracted, which reads them anyway.
- **Safe names**: a member whose name is absolute, holds a `..` part, a backslash or a NUL, or
  that is a symlink, is never written; it is skipped and counted (`unsafe_member_reason`).
- **Extracted atomically** (`extract_folder`): the members under one top folder go to a
  `.partial-<folder>` beside the target, each file written under a temp name and renamed, and the
  folder is renamed into place only when every member is there. A killed run resumes: the files
  already renamed into the partial folder are kept (their CRC was checked when they were written).
  A record `.extracted-<folder>.json` ties the folder to the archive's central directory, so an
  unchanged archive is not extracted twice.
- **Capped** (`formats/archive_limits.py`): a member whose declared size or compression ratio is
  over its cap is not extracted and is counted (`too_large`, `unsafe_compression_ratio`); every
  member is also stopped at its cap while it is read. Before extraction begins, the members' data
  must lie one after another in the file (members that share data are a zip bomb's trick) and the
  total the central directory declares must fit in the free disk space.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from mm_assets.common.atomic import atomic_write
from mm_assets.common.counts import Tally
from mm_assets.common.parallel import ordered_map
from mm_assets.common.progress import Progress
from mm_assets.formats.archive_limits import ArchiveLimits, require_free_space
from mm_assets.formats.json_stream import iter_json_items
from mm_assets.formats.shape import JsonShape, NoRowsKeptError, check_json_shape

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
LOCAL_HEADER_MAGIC = b"PK\x03\x04"
DEFAULT_CRC_LIMIT_BYTES = 4 << 30
COPY_BLOCK = 1 << 20


class ZipFormatError(ValueError):
    """The archive is truncated, damaged or not a zip; the message names it (and the member)."""


def unsafe_member_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be written (`symlink`, `absolute_path`, ...), or None if it is safe."""
    name = info.filename
    if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
        return "symlink"
    if "\x00" in name or "\\" in name:
        return "backslash_or_nul_in_name"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute_path"
    if ".." in PurePosixPath(name).parts:
        return "parent_folder_in_name"
    return None


@contextlib.contextmanager
def open_zip(path: str | os.PathLike) -> Iterator[zipfile.ZipFile]:
    """The archive, or `ZipFormatError` naming it when its central directory cannot be read."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ZipFormatError(f"{Path(path).name}: not a readable zip (truncated, or not a zip at all): "
                             f"{exc}") from None
    with archive:
        yield archive


def _check_local_headers(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Each member's local header is where the central directory says, its data inside the file,
    and no two members' data overlap (a zip bomb's trick: many entries inflating the same bytes)."""
    size = path.stat().st_size
    previous_end, previous = 0, None
    with open(path, "rb") as handle:
        for info in sorted(infos, key=lambda i: i.header_offset):
            if info.header_offset < previous_end:
                raise ZipFormatError(f"{path.name}: member {info.filename} starts at byte {info.header_offset:,}, "
                                     f"inside the data of member {previous} (members that overlap: refused)")
            handle.seek(info.header_offset)
            header = handle.read(LOCAL_HEADER.size)
            if len(header) < LOCAL_HEADER.size:
                raise ZipFormatError(f"{path.name}: member {info.filename}: the file ends inside its header")
            fields = LOCAL_HEADER.unpack(header)
            if fields[0] != LOCAL_HEADER_MAGIC:
                raise ZipFormatError(f"{path.name}: member {info.filename}: no local header at byte "
                                     f"{info.header_offset:,}")
            name_length, extra_length = fields[9], fields[10]
            data_end = info.header_offset + LOCAL_HEADER.size + name_length + extra_length + info.compress_size
            if data_end > size:
                raise ZipFormatError(f"{path.name}: member {info.filename}: its data ends at byte "
                                     f"{data_end:,}, after the end of the file ({size:,} bytes)")
            previous_end, previous = data_end, info.filename


def check_zip(path: str | os.PathLike, *, required: tuple[str, ...] = (),
              crc_limit_bytes: int = DEFAULT_CRC_LIMIT_BYTES) -> str:
    """Check an archive's structure (and CRCs when small enough); return what was checked.

    `required` names members that must be there (`dataset_coco.json`). Raises ZipFormatError.
    """
    path = Path(path)
    with open_zip(path) as archive:
        infos = archive.infolist()
        missing = [name for name in required if name not in archive.NameToInfo]
        if missing:
            raise ZipFormatError(f"{path.name}: no member {', '.join(missing)} among its {len(infos):,} members")
        _check_local_headers(path, infos)
        unsafe = sum(unsafe_member_reason(info) is not None for info in infos)
        total = sum(info.file_size for info in infos)
        checked = f"zip: central directory and {len(infos):,} local headers sound"
        if total <= crc_limit_bytes:
            for info in infos:
                if not info.is_dir():
                    read_member_checked(archive, info, path.name, sink=None)
            checked += f", every CRC-32 checked ({total:,} bytes)"
        else:
            checked += f"; CRC-32s checked at extraction ({total:,} bytes)"
        if unsafe:
            checked += f"; {unsafe:,} unsafe member(s) that extraction skips"
    return checked


def read_member_checked(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str,
                        sink: Callable[[bytes], object] | None, *, limits: ArchiveLimits | None = None,
                        text: bool = False) -> int:
    """Stream one member to `sink` (or nowhere); its CRC-32 is checked at its end. With `limits`,
    reading stops with `ArchiveLimitError` once the member inflates past its cap."""
    size = 0
    try:
        with archive.open(info) as member:
            stream = member if limits is None else limits.capped(
                member, info.compress_size, f"{label}: member {info.filename}", text=text)
            while block := stream.read(COPY_BLOCK):
                size += len(block)
                if sink is not None:
                    sink(block)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ZipFormatError(f"{label}: member {info.filename}: damaged: {exc}") from None
    return size


def iter_json_member(zip_path: str | os.PathLike, member: str, prefix: str, *, shape: JsonShape | None = None,
                     limits: ArchiveLimits = ArchiveLimits()) -> Iterator:
    """The items at `prefix` of a JSON member, streamed; damage names the archive and the member
    (`JsonFormatError` for truncated JSON, `ZipFormatError` for a bad CRC or a missing member).

    The member is a text member for `limits` (`ArchiveLimitError` when over a cap, declared or
    read); with `shape`, the file's shape is checked first (`ShapeError`), before any item."""
    zip_path = Path(zip_path)
    label = f"{member} in {zip_path.name}"
    with open_zip(zip_path) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise ZipFormatError(f"{zip_path.name}: no member {member}") from None
        limits.check_member(label, info.file_size, info.compress_size, text=True)
        try:
            if shape is not None:
                with archive.open(info) as stream:
                    check_json_shape(limits.capped(stream, info.compress_size, label, text=True), shape,
                                     label=label)
            with archive.open(info) as stream:
                yield from iter_json_items(limits.capped(stream, info.compress_size, label, text=True), prefix,
                                           label=label)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ZipFormatError(f"{label}: damaged: {exc}") from None


def archive_identity(path: str | os.PathLike) -> str:
    """A digest of the archive's size and its members' names, sizes and CRC-32s."""
    digest = hashlib.sha256()
    path = Path(path)
    digest.update(str(path.stat().st_size).encode())
    with open_zip(path) as archive:
        for info in archive.infolist():
            digest.update(f"{info.filename}\0{info.file_size}\0{info.CRC}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@dataclass
class Extraction:
    """What `extract_folder` did."""

    folder: Path
    files: int = 0
    bytes: int = 0
    kept_from_earlier_run: int = 0
    up_to_date: bool = False
    skipped: Tally = field(default_factory=Tally)  # unsafe names, refused by a cap, ...


def extraction_record(dest_parent: Path, top: str) -> Path:
    return dest_parent / f".extracted-{top}.json"


def _members_under(archive: zipfile.ZipFile, top: str, skipped: Tally,
                   limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    chosen, names = [], set()
    for info in archive.infolist():
        reason = unsafe_member_reason(info)
        if reason is not None:
            skipped.add(f"unsafe_{reason}", example=info.filename)
        elif info.is_dir():
            continue
        elif not info.filename.startswith(top + "/"):
            skipped.add("outside_folder", example=info.filename)
        elif (refused := limits.refusal(info.file_size, info.compress_size, text=False)) is not None:
            skipped.add(refused, example=f"{info.filename} ({info.file_size:,} bytes from {info.compress_size:,})")
        elif info.filename in names:
            skipped.add("duplicate_name", example=info.filename)  # the first one is extracted
        else:
            names.add(info.filename)
            chosen.append(info)
    return chosen


def extract_folder(
    zip_path: str | os.PathLike,
    top: str,
    dest_parent: str | os.PathLike,
    *,
    workers: int = 1,
    log: Callable[[str], None] | None = None,
    progress_interval: float = 10.0,
    limits: ArchiveLimits = ArchiveLimits(),
) -> Extraction:
    """Extract the members under `top/` into `dest_parent/top/`, atomically and resumably.

    Members over a cap of `limits` are skipped and counted in `skipped`; when no member is left to
    extract of an archive that holds some, NoRowsKeptError, before anything is written. Raises ZipFormatError
    (naming the archive and member) when a member is damaged, and ArchiveLimitError when the
    extraction cannot fit on the disk; what was extracted before stays in the partial folder for
    the next run only if the archive is the same.
    """
    zip_path, dest_parent = Path(zip_path), Path(dest_parent)
    final = dest_parent / top
    record = extraction_record(dest_parent, top)
    identity = archive_identity(zip_path)
    result = Extraction(final)
    if final.is_dir() and record.is_file():
        recorded = json.loads(record.read_text())
        if recorded.get("archive") == identity:
            result.files, result.bytes, result.up_to_date = recorded["files"], recorded["bytes"], True
            for key, count in recorded.get("skipped", {}).items():
                result.skipped.add(key, count)
            return result
    partial = dest_parent / f".partial-{top}"
    source_mark = partial / ".archive"
    if partial.is_dir() and (not source_mark.is_file() or source_mark.read_text() != identity):
        shutil.rmtree(partial)  # left by a run on another archive: nothing in it can be trusted
    partial.mkdir(parents=True, exist_ok=True)
    source_mark.write_text(identity)
    with open_zip(zip_path) as archive:
        _check_local_headers(zip_path, archive.infolist())
        members = _members_under(archive, top, result.skipped, limits)
    if not members and result.skipped.total():
        raise NoRowsKeptError(f"{zip_path.name}: none of its {result.skipped.total():,} members can be extracted "
                              f"into {top}/ ({', '.join(f'{k} {n:,}' for k, n in result.skipped.counts.most_common())}); "
                              "nothing was written")
    require_free_space(partial, sum(info.file_size for info in members
                                    if not (partial / info.filename[len(top) + 1:]).is_file()),
                       f"{zip_path.name}, folder {top}")
    progress = Progress(f"extract {zip_path.name}", log, total=sum(i.file_size for i in members),
                        interval=progress_interval)
    opened = threading.local()
    handles: list[zipfile.ZipFile] = []

    def extract_chunk(chunk: list[zipfile.ZipInfo]) -> tuple[int, int, int]:
        if not hasattr(opened, "archive"):
            opened.archive = zipfile.ZipFile(zip_path)
            handles.append(opened.archive)
        files = nbytes = kept = 0
        for info in chunk:
            target = partial / info.filename[len(top) + 1:]
            if target.is_file() and target.stat().st_size == info.file_size:
                kept += 1
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                temp = target.with_name(f".tmp-{target.name}")
                try:
                    with open(temp, "wb") as out:
                        read_member_checked(opened.archive, info, zip_path.name, sink=out.write, limits=limits)
                except BaseException:
                    temp.unlink(missing_ok=True)  # nothing half-written stays behind
                    raise
                os.replace(temp, target)
            files += 1
            nbytes += info.file_size
        return files, nbytes, kept

    chunks = [members[i:i + 256] for i in range(0, len(members), 256)]
    try:
        for files, nbytes, kept in ordered_map(extract_chunk, chunks, workers=workers):
            result.files += files
            result.bytes += nbytes
            result.kept_from_earlier_run += kept
            progress.advance(nbytes)
    finally:
        for handle in handles:
            handle.close()
    progress.finish()
    source_mark.unlink()
    _swap_into_place(partial, final)
    with atomic_write(record, "w") as handle:
        json.dump({"archive": identity, "zip": zip_path.name, "files": result.files, "bytes": result.bytes,
                   "skipped": dict(result.skipped.counts),
                   # name -> [size, CRC-32]: proves the folder once the zip is released (formats/extracted.py)
                   "members": {i.filename[len(top) + 1:]: [i.file_size, i.CRC] for i in members}}, handle)
    return result


def _swap_into_place(partial: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}.{os.getpid()}")
        os.replace(final, old)
    os.replace(partial, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale_extractions(dest_parent: str | os.PathLike, top: str) -> int:
    """Remove `.old-<top>.*` folders a killed swap left (the partial folder is kept: it resumes)."""
    removed = 0
    parent = Path(dest_parent)
    if parent.is_dir():
        for leftover in parent.glob(f".old-{top}.*"):
            shutil.rmtree(leftover, ignore_errors=True)
            removed += 1
    return removed


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same members give the same bytes


def write_zip(path: str | os.PathLike, members: Iterable[tuple[str, bytes]], *,
              compress: Callable[[str], bool] = lambda name: True) -> Path:
    """A zip of `(name, bytes)` members (a name ending in "/" is a folder), written atomically.

    `compress(name)` chooses deflate or stored per member (upstream image zips store JPEGs).
    """
    path = Path(path)
    with atomic_write(path) as handle, zipfile.ZipFile(handle, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED if compress(name) else zipfile.ZIP_STORED
            archive.writestr(info, data)
    return path
