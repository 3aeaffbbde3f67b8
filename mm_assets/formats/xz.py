"""The xz container, read as the `xz` tool reads it (https://tukaani.org/xz/xz-file-format.txt).

A file is one or more streams, each `header, blocks, index, footer`, optionally followed by stream
padding (null bytes, a multiple of four). `check_structure` verifies every stream's framing from
the end backwards without decoding a block (headers, indexes and footers with their CRC32s, as
`xz --list` does): cheap enough to run on every download, and it finds truncation and trailing
garbage. `decompress` decodes every stream (as `xz --decompress`, each block's check verified),
allows padding, and refuses garbage, naming the byte where it starts.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from dataclasses import dataclass

STREAM_MAGIC = b"\xfd7zXZ\x00"
FOOTER_MAGIC = b"YZ"
HEADER_SIZE = FOOTER_SIZE = 12


class XzError(ValueError):
    """The data is not a sound xz file; `offset` is the byte where the problem was found."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte {offset:,})")
        self.offset = offset


class XzSizeError(XzError):
    """The data decodes to more bytes than the caller allows (a bomb, or a cap set too low)."""


@dataclass(frozen=True)
class XzSummary:
    streams: int
    blocks: int
    uncompressed_bytes: int


def _varint(view: memoryview, pos: int, limit: int) -> tuple[int, int]:
    """A multibyte integer of the xz format (7 bits a byte, at most 9 bytes)."""
    value = 0
    for i in range(9):
        if pos >= limit:
            raise XzError("index ends inside a number", pos)
        byte = view[pos]
        value |= (byte & 0x7F) << (7 * i)
        pos += 1
        if not byte & 0x80:
            return value, pos
    raise XzError("index number longer than 9 bytes", pos)


def _check_crc(view: memoryview, start: int, end: int, stored_at: int, what: str) -> None:
    (stored,) = struct.unpack_from("<I", view, stored_at)
    if zlib.crc32(view[start:end]) != stored:
        raise XzError(f"{what} fails its CRC32", start)


def _check_stream_backwards(view: memoryview, end: int) -> tuple[int, int, int]:
    """Check the stream that ends at `end`; return its start, block count and uncompressed size."""
    if end < HEADER_SIZE + FOOTER_SIZE:
        raise XzError("too short for an xz stream", end)
    footer = end - FOOTER_SIZE
    _check_crc(view, footer + 4, footer + 10, footer, "stream footer")
    index_size = (struct.unpack_from("<I", view, footer + 4)[0] + 1) * 4
    flags = bytes(view[footer + 8:footer + 10])
    index = footer - index_size
    if index < HEADER_SIZE or view[index] != 0:
        raise XzError("stream footer points at no index", max(index, 0))
    _check_crc(view, index, footer - 4, footer - 4, "stream index")
    records, pos = _varint(view, index + 1, footer - 4)
    blocks_size = uncompressed = 0
    for _ in range(records):
        unpadded, pos = _varint(view, pos, footer - 4)
        size, pos = _varint(view, pos, footer - 4)
        blocks_size += (unpadded + 3) & ~3
        uncompressed += size
    if any(view[pos:footer - 4]) or (footer - 4 - pos) > 3:
        raise XzError("stream index has bad padding", pos)
    header = index - blocks_size - HEADER_SIZE
    if header < 0 or bytes(view[header:header + 6]) != STREAM_MAGIC:
        raise XzError("the index does not lead back to a stream header: data is missing or added", max(header, 0))
    _check_crc(view, header + 6, header + 8, header + 8, "stream header")
    if bytes(view[header + 6:header + 8]) != flags:
        raise XzError("stream header and footer disagree on their flags", header)
    return header, records, uncompressed


def check_structure(data: bytes | memoryview) -> XzSummary:
    """Verify the framing of every stream and the padding between them, without decoding."""
    view = memoryview(data)
    end = len(view)
    if end == 0:
        raise XzError("empty: no xz stream", 0)
    streams = blocks = uncompressed = 0
    while end > 0:
        start = end
        while start > 0 and view[start - 1] == 0:
            start -= 1
        if start == 0:
            raise XzError("stream padding before the first stream" if streams else "only null bytes", 0)
        if bytes(view[start - 2:start]) != FOOTER_MAGIC:
            raise XzError("no stream footer where the data ends: truncated, or not xz data", end)
        if (end - start) % 4:
            raise XzError(f"{end - start} null bytes of stream padding, not a multiple of four", start)
        end, stream_blocks, stream_bytes = _check_stream_backwards(view, start)
        streams += 1
        blocks += stream_blocks
        uncompressed += stream_bytes
    return XzSummary(streams, blocks, uncompressed)


def decompress(data: bytes, *, max_bytes: int) -> bytes:
    """Decode every concatenated stream; refuse more than `max_bytes` of output (a bomb): decoding
    stops there (`XzSizeError`), whatever the streams' indexes declare."""
    parts: list[bytes] = []
    total = 0
    rest = data
    consumed = 0
    while True:
        if not rest.startswith(STREAM_MAGIC):
            what = "not xz data" if not parts else "garbage after the last stream"
            raise XzError(f"{what} (starts with {bytes(rest[:8])!r})", consumed)
        decoder = lzma.LZMADecompressor(lzma.FORMAT_XZ)
        try:
            part = decoder.decompress(rest, max_length=max_bytes - total + 1)
        except lzma.LZMAError as exc:
            raise XzError(f"stream {len(parts) + 1} is corrupt: {exc}", consumed) from exc
        total += len(part)
        if total > max_bytes:
            raise XzSizeError(f"decompresses to more than {max_bytes:,} bytes", consumed)
        if not decoder.eof:
            raise XzError(f"stream {len(parts) + 1} is truncated: the data ends before its end", len(data))
        parts.append(part)
        unused = decoder.unused_data
        consumed = len(data) - len(unused)
        padded = unused.lstrip(b"\0")
        padding = len(unused) - len(padded)
        if padding % 4:
            raise XzError(f"{padding} null bytes of stream padding, not a multiple of four", consumed)
        if not padded:
            return parts[0] if len(parts) == 1 else b"".join(parts)
        consumed += padding
        rest = padded
