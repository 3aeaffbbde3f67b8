"""The xz container read as the `xz` tool reads it: every case judged the same as `xz --test`."""

import lzma
import shutil
import subprocess

import pytest

from mm_assets.formats.xz import XzError, check_structure, decompress

A = lzma.compress(b"hello " * 1000)
B = lzma.compress(b"world " * 500, preset=9, check=lzma.CHECK_SHA256)
CASES = {
    "one stream": (A, b"hello " * 1000),
    "two streams": (A + B, b"hello " * 1000 + b"world " * 500),
    "padding between and after": (A + b"\0" * 4 + B + b"\0" * 8, b"hello " * 1000 + b"world " * 500),
    "padding not a multiple of four": (A + b"\0" * 3, None),
    "garbage after the stream": (A + b"garbage!", None),
    "truncated footer": (A[:-5], None),
    "cut in the middle": (A[: len(A) // 2], None),
    "empty": (b"", None),
    "padding before the first stream": (b"\0" * 4 + A, None),
    "an HTML page": (b"<!DOCTYPE html><html>gone</html>", None),
}
FLIPPED = A[:30] + bytes([A[30] ^ 0xFF]) + A[31:]  # framing intact, block data corrupt


@pytest.mark.parametrize("name", list(CASES))
def test_decompress_agrees_with_xz_test(name, tmp_path):
    data, expected = CASES[name]
    if expected is None:
        with pytest.raises(XzError):
            decompress(data, max_bytes=1 << 20)
    else:
        assert decompress(data, max_bytes=1 << 20) == expected
    if shutil.which("xz"):
        (tmp_path / "x.xz").write_bytes(data)
        ok = subprocess.run(["xz", "--test", str(tmp_path / "x.xz")], capture_output=True).returncode == 0
        assert ok == (expected is not None)


@pytest.mark.parametrize("name", list(CASES))
def test_structure_check_agrees_without_decoding(name):
    data, expected = CASES[name]
    if expected is None:
        with pytest.raises(XzError):
            check_structure(data)
    else:
        summary = check_structure(data)
        assert summary.uncompressed_bytes == len(expected)
        assert summary.streams == data.count(b"\xfd7zXZ\x00")


def test_corrupt_block_data_passes_the_framing_and_fails_the_decoding():
    check_structure(FLIPPED)
    with pytest.raises(XzError, match="corrupt"):
        decompress(FLIPPED, max_bytes=1 << 20)


def test_messages_say_where():
    with pytest.raises(XzError, match=r"garbage after the last stream .*at byte"):
        decompress(A + b"garbage!", max_bytes=1 << 20)
    with pytest.raises(XzError, match="truncated"):
        decompress(A[: len(A) // 2], max_bytes=1 << 20)
    with pytest.raises(XzError, match="more than 100 bytes"):
        decompress(A, max_bytes=100)
