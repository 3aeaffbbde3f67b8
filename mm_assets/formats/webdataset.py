"""Image shards in the webdataset layout: a plain tar whose members `<key>.<ext>` group into samples.

A sample is every member sharing a key (`000001234.jpg`, `000001234.txt`, `000001234.json`).
Writers add samples in key order with fixed member metadata, so the same samples give the same
bytes; the tar appears atomically. Elsewhere an image inside a shard is named by a reference
`<shard path>#<key>` (`cc3m/images/<shard>.tar#<key>`), resolved here.

Reads refuse a member larger than `max_member_bytes` (default: the CC3M image byte cap, as for
every archive member: `formats/archive_limits.py`) with `ArchiveLimitError`, before reading it.
"""

from __future__ import annotations

import io
import os
import tarfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from mm_assets.common.atomic import atomic_write
from mm_assets.formats.archive_limits import DEFAULT_MAX_MEMBER_BYTES, MEMBER_SETTING, ArchiveLimitError

MTIME = 0  # fixed member metadata: shards are reproducible byte for byte
TEXT_EXTENSIONS = ("txt", "json", "cls")
COPY_BUFFER = 1 << 22  # a member's bytes in one write, not tarfile's 16 KB pieces


def sample_key(row_id: int) -> str:
    """Zero-padded, so that keys sort as numbers do."""
    return f"{row_id:09d}"


def image_ref(shard_path: str, key: str) -> str:
    return f"{shard_path}#{key}"


def split_image_ref(ref: str) -> tuple[str, str]:
    shard, _, key = ref.rpartition("#")
    if not shard or not key:
        raise ValueError(f"{ref!r} is not a '<shard>.tar#<key>' reference")
    return shard, key


class ShardWriter:
    """Adds samples to an open tar; use `open_shard` to get one."""

    def __init__(self, archive: tarfile.TarFile) -> None:
        self._archive = archive
        self._last_key: str | None = None
        self.samples = 0

    def add(self, key: str, members: dict[str, bytes]) -> None:
        """Add one sample: `members` maps an extension (`jpg`, `txt`, `json`) to its bytes."""
        if self._last_key is not None and key <= self._last_key:
            raise ValueError(f"sample keys must increase: {key!r} after {self._last_key!r}")
        self._last_key = key
        for extension in sorted(members):
            data = members[extension]
            info = tarfile.TarInfo(f"{key}.{extension}")
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            info.uname = info.gname = ""
            self._archive.addfile(info, io.BytesIO(data))
        self.samples += 1


@contextmanager
def open_shard(path: str | os.PathLike) -> Iterator[ShardWriter]:
    """A shard that appears at `path` only when the block ends without error."""
    with atomic_write(Path(path)) as handle, \
            tarfile.open(fileobj=handle, mode="w", format=tarfile.USTAR_FORMAT, copybufsize=COPY_BUFFER) as archive:
        yield ShardWriter(archive)


def _refuse_if_over(path: str | os.PathLike, info: tarfile.TarInfo, max_member_bytes: int) -> None:
    if info.size > max_member_bytes:
        raise ArchiveLimitError(f"{Path(path).name}: member {info.name}: refused (too_large): {info.size:,} bytes "
                                f"is over {max_member_bytes:,} ({MEMBER_SETTING})")


def iter_samples(path: str | os.PathLike, *, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
                 ) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) for every sample of a shard, in archive order."""
    key: str | None = None
    members: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:") as archive:
        for info in archive:
            if not info.isfile():
                continue
            _refuse_if_over(path, info, max_member_bytes)
            member_key, _, extension = info.name.partition(".")
            if member_key != key and key is not None:
                yield key, members
                members = {}
            key = member_key
            members[extension] = archive.extractfile(info).read()
    if key is not None:
        yield key, members


def member_offsets(path: str | os.PathLike, *, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
                   ) -> dict[str, tuple[str, int, int]]:
    """key -> (image member name, data offset, size) for random access to each sample's image."""
    offsets: dict[str, tuple[str, int, int]] = {}
    with tarfile.open(path, mode="r:") as archive:
        for info in archive:
            key, _, extension = info.name.partition(".")
            if info.isfile() and extension not in TEXT_EXTENSIONS:
                _refuse_if_over(path, info, max_member_bytes)
                offsets[key] = (info.name, info.offset_data, info.size)
    return offsets


def read_image(path: str | os.PathLike, key: str, *, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
               ) -> tuple[str, bytes]:
    """The image member of sample `key` in one shard: (member name, bytes)."""
    name, offset, size = member_offsets(path, max_member_bytes=max_member_bytes)[key]
    with open(path, "rb") as handle:
        handle.seek(offset)
        return name, handle.read(size)
