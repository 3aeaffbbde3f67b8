"""Caps on what one archive member may inflate to, so a zip or xz bomb is refused, not extracted.

Every extraction (image and caption zips, OpenWebText's xz members, webdataset shards) checks a
member against two caps before it reads it, from what the archive declares, and again while it
reads, by counting the bytes that come out (a header that lies about a member's size cannot make it
inflate past the cap):

- **size**: an image or other binary member above `max_member_bytes` (default: the CC3M image
  byte cap, 20,000,000) is `too_large`; a text member (a caption JSON, an OWT inner tar) has its own
  cap, `max_text_member_bytes` (default 2 GiB: VG's region_descriptions.json is about 0.7 GB).
- **ratio**: a member that inflates more than `max_ratio` times (default 100:1) its compressed
  size is an `unsafe_compression_ratio`. Real data is far below it (JPEGs ~1:1, JSON and text
  5-10:1); zeros deflate about 1,000:1. Members under `RATIO_FLOOR_BYTES` (1 MiB) are exempt: they
  cannot hurt, and a tiny file of spaces may compress well.

The settings are `MM_ARCHIVE_MAX_MEMBER_BYTES`, `MM_ARCHIVE_MAX_TEXT_MEMBER_BYTES` and
`MM_ARCHIVE_MAX_RATIO` (docs/data-rules.md, "Archive caps").
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

DEFAULT_MAX_MEMBER_BYTES = 20_000_000  # the CC3M image byte cap (fetch/crawl.py DEFAULT_MAX_BYTES)
DEFAULT_MAX_TEXT_MEMBER_BYTES = 1 << 31
DEFAULT_MAX_RATIO = 100.0
RATIO_FLOOR_BYTES = 1 << 20
MEMBER_SETTING = "MM_ARCHIVE_MAX_MEMBER_BYTES"
TEXT_MEMBER_SETTING = "MM_ARCHIVE_MAX_TEXT_MEMBER_BYTES"
RATIO_SETTING = "MM_ARCHIVE_MAX_RATIO"
TOO_LARGE, UNSAFE_RATIO = "too_large", "unsafe_compression_ratio"


class ArchiveLimitError(ValueError):
    """A member (or a whole extraction) is refused by a cap: the same bytes will be refused again,
    so this is never worth a retry. The message names the archive, the member and the setting."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
    max_text_member_bytes: int = DEFAULT_MAX_TEXT_MEMBER_BYTES
    max_ratio: float = DEFAULT_MAX_RATIO

    def size_cap(self, *, text: bool) -> int:
        return self.max_text_member_bytes if text else self.max_member_bytes

    def read_cap(self, compressed: int, *, text: bool) -> int:
        """The most bytes a member of `compressed` bytes may inflate to."""
        by_ratio = max(int(self.max_ratio * compressed), RATIO_FLOOR_BYTES)
        return min(self.size_cap(text=text), by_ratio)

    def read_cap_words(self, compressed: int, *, text: bool) -> str:
        """Where `read_cap` comes from, with the settings that raise it."""
        setting = TEXT_MEMBER_SETTING if text else MEMBER_SETTING
        return (f"the lower of {self.size_cap(text=text):,} bytes ({setting}) and {self.max_ratio:g} times its "
                f"{compressed:,} compressed bytes ({RATIO_SETTING}; at least {RATIO_FLOOR_BYTES:,})")

    def capped(self, stream: IO[bytes], compressed: int, label: str, *, text: bool) -> "CappedReader":
        """`stream` stopped at `read_cap` bytes."""
        return CappedReader(stream, self.read_cap(compressed, text=text), label,
                            self.read_cap_words(compressed, text=text))

    def refusal(self, uncompressed: int, compressed: int, *, text: bool) -> str | None:
        """`unsafe_compression_ratio`, `too_large`, or None, from the sizes an archive declares."""
        if uncompressed > RATIO_FLOOR_BYTES and uncompressed > self.max_ratio * max(compressed, 1):
            return UNSAFE_RATIO
        if uncompressed > self.size_cap(text=text):
            return TOO_LARGE
        return None

    def explain(self, reason: str, *, text: bool) -> str:
        """The cap behind a refusal, with the setting that raises it."""
        if reason == UNSAFE_RATIO:
            return f"inflates more than {self.max_ratio:g}:1 ({RATIO_SETTING})"
        setting = TEXT_MEMBER_SETTING if text else MEMBER_SETTING
        return f"is over {self.size_cap(text=text):,} bytes ({setting})"

    def check_member(self, label: str, uncompressed: int, compressed: int, *, text: bool) -> None:
        """Raise `ArchiveLimitError` when the declared sizes are refused."""
        reason = self.refusal(uncompressed, compressed, text=text)
        if reason is not None:
            raise ArchiveLimitError(
                f"{label}: refused ({reason}): it declares {uncompressed:,} bytes from {compressed:,} "
                f"compressed and {self.explain(reason, text=text)}; raise the setting only if the "
                "upstream file really holds such a member")


class CappedReader:
    """A binary stream that raises `ArchiveLimitError` once more than `cap` bytes came out of it,
    whatever the archive declared."""

    def __init__(self, raw: IO[bytes], cap: int, label: str, why: str) -> None:
        self._raw, self.cap, self._label, self._why = raw, cap, label, why
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.cap + 1 - self.bytes_read
        data = self._raw.read(min(size, self.cap + 1 - self.bytes_read) if size else 0)
        self.bytes_read += len(data)
        if self.bytes_read > self.cap:
            raise ArchiveLimitError(f"{self._label}: refused: it inflated past {self.cap:,} bytes while "
                                    f"being read ({self._why}); its header understated its size")
        return data


def require_free_space(folder: str | os.PathLike, needed: int, label: str) -> None:
    """Refuse an extraction that cannot fit on the disk of `folder`, before it writes a byte."""
    folder = Path(folder)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    free = shutil.disk_usage(probe).free
    if needed > free:
        raise ArchiveLimitError(f"{label}: its central directory declares {needed:,} bytes to extract, but "
                                f"only {free:,} are free under {probe}; free some space or move MM_DATA_ROOT")
