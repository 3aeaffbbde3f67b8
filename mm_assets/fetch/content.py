"""What a file really is, from its first bytes: for errors that say "an HTML page, not a tar".

A download that fails its checks is most often something else entirely (an error page, an empty
body, another format); naming that in the error tells the user what happened without opening the
file. Only the first `HEAD_BYTES` are looked at, so this works on any file, whatever its size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

HEAD_BYTES = 1024  # enough for every signature below (a tar's "ustar" sits at offset 257)

# ISO media ("ftyp" box) brands that are still images, not video.
_IMAGE_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


@dataclass(frozen=True)
class ContentKind:
    """A kind of content; `likely_cause` says why a server would send it in place of a file."""

    name: str
    textual: bool = False
    likely_cause: str | None = None
    image_extension: str | None = None  # set for image formats: the file extension to store it under


EMPTY = ContentKind("empty", likely_cause="the server sent no bytes")
HTML = ContentKind("an HTML page", textual=True, likely_cause="the server answered with an error page")
JSON = ContentKind("JSON", textual=True, likely_cause="the server answered with an error message")
XML = ContentKind("an XML document", textual=True, likely_cause="the server answered with an error message")
TEXT = ContentKind("plain text", textual=True)
UNKNOWN_BINARY = ContentKind("unrecognised binary data")

# (offset, signature, kind): strong signatures, checked before any guess from the text.
_SIGNATURES = [
    (0, b"\x1f\x8b", ContentKind("gzip-compressed data")),
    (0, b"\xfd7zXZ\x00", ContentKind("xz-compressed data")),
    (0, b"\x28\xb5\x2f\xfd", ContentKind("zstd-compressed data")),
    (0, b"PK\x03\x04", ContentKind("a zip archive")),
    (0, b"PK\x05\x06", ContentKind("a zip archive (empty)")),
    (257, b"ustar", ContentKind("a tar archive")),
    (0, b"PAR1", ContentKind("a parquet file")),
    (0, b"\xff\xd8\xff", ContentKind("a JPEG image", image_extension="jpg")),
    (0, b"\x89PNG\r\n\x1a\n", ContentKind("a PNG image", image_extension="png")),
    (0, b"GIF87a", ContentKind("a GIF image", image_extension="gif")),
    (0, b"GIF89a", ContentKind("a GIF image", image_extension="gif")),
    (0, b"II*\x00", ContentKind("a TIFF image", image_extension="tif")),
    (0, b"MM\x00*", ContentKind("a TIFF image", image_extension="tif")),
    (0, b"%PDF-", ContentKind("a PDF document")),
]


def sniff(head: bytes) -> ContentKind:
    """The kind of content that starts with `head` (the file's first bytes)."""
    if not head:
        return EMPTY
    for offset, signature, kind in _SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ContentKind("a WebP image", image_extension="webp")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return ContentKind("an AVIF/HEIF image", image_extension="avif" if brand[:3] == b"avi" else "heic")
        return ContentKind(f"an ISO media file (brand {brand.decode('latin-1')!r})")
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return ContentKind("bzip2-compressed data")
    text = _as_text(head)
    if text is not None:
        return _text_kind(text)
    if head[:2] == b"BM" and len(head) >= 14:  # weak signature: only once text is ruled out
        return ContentKind("a BMP image", image_extension="bmp")
    return UNKNOWN_BINARY


def describe_content(head: bytes, size: int) -> str:
    """E.g. "an HTML page (1,234 bytes, starts with '<!DOCTYPE html>')", "a gzip ... (5 bytes)"."""
    kind = sniff(head)
    if size == 0:
        return "empty (0 bytes)"
    if kind.textual:
        return f"{kind.name} ({size:,} bytes, starts with {_first_line(head)!r})"
    return f"{kind.name} ({size:,} bytes)"


def read_head(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(HEAD_BYTES)


def describe_file(path: str | os.PathLike) -> str:
    return describe_content(read_head(path), os.path.getsize(path))


def _as_text(head: bytes) -> str | None:
    """`head` as text when it is UTF-8 without control characters (a cut last character is fine)."""
    for cut in range(4):  # the head may end in the middle of a multi-byte character
        try:
            text = head[:len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    if any((ord(c) < 0x20 and c not in "\t\n\r\f") or c == "\x7f" for c in text):
        return None
    return text.lstrip("\ufeff")


def _text_kind(text: str) -> ContentKind:
    start = text.lstrip().lower()
    if start.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in start:
        return HTML
    if start.startswith("<"):
        return XML
    if start.startswith(("{", "[")):
        return JSON
    return TEXT


def _first_line(head: bytes, limit: int = 60) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[:limit] + "..."
