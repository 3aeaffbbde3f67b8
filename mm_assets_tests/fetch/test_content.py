"""Naming what a file really is from its first bytes."""

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile

import pytest

from mm_assets.fetch.content import describe_content, describe_file, sniff


def tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"abc"))
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "abc")
    return buffer.getvalue()


@pytest.mark.parametrize("head, kind", [
    (b"<!DOCTYPE html>\n<html>", "an HTML page"),
    (b"\n  <html lang='en'><head>", "an HTML page"),
    (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', "an XML document"),
    (b'{"error": "Repository not found"}', "JSON"),
    (b"Entry not found", "plain text"),
    (gzip.compress(b"x" * 100), "gzip-compressed data"),
    (lzma.compress(b"x" * 100), "xz-compressed data"),
    (bz2.compress(b"x" * 100), "bzip2-compressed data"),
    (zip_bytes(), "a zip archive"),
    (tar_bytes(), "a tar archive"),
    (b"PAR1\x15\x04\x15", "a parquet file"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    (b"GIF89a\x01\x00\x01\x00", "a GIF image"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "a WebP image"),
    (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00", "a BMP image"),
    (b"II*\x00\x08\x00\x00\x00", "a TIFF image"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "an AVIF/HEIF image"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "an AVIF/HEIF image"),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "an ISO media file (brand 'isom')"),
    (bytes(range(256)) * 2, "unrecognised binary data"),
    (b"", "empty"),
])
def test_kinds(head, kind):
    assert sniff(head[:1024]).name == kind


def test_descriptions_quote_text_and_count_bytes():
    page = b"<!DOCTYPE html>\n<html><body>Service Unavailable</body></html>"
    assert describe_content(page, 12_345) == "an HTML page (12,345 bytes, starts with '<!DOCTYPE html>')"
    assert describe_content(b"", 0) == "empty (0 bytes)"
    assert describe_content(b"\x1f\x8b\x08\x00", 70) == "gzip-compressed data (70 bytes)"
    assert describe_content(b"x" * 500, 500) == f"plain text (500 bytes, starts with '{'x' * 60}...')"


def test_a_head_cut_inside_a_character_is_still_text(tmp_path):
    path = tmp_path / "note.txt"
    path.write_bytes(b"a" + "é".encode() * 2000)  # the first 1024 bytes end inside an "é"
    assert describe_file(path).startswith("plain text (4,001 bytes, starts with 'aéé")
