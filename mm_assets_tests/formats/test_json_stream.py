"""Streamed JSON: valid text reaches the parser unchanged, invalid text is marked (never a stop,
never a silent '?'), escapes split across chunks are handled, truncation names the file."""

import io
import json

import pytest

from mm_assets.formats.json_stream import INVALID_TEXT_MARK, JsonFormatError, iter_json_items

M = INVALID_TEXT_MARK


def _items(data: bytes, prefix: str = "item", chunk: int = 1 << 20):
    return list(iter_json_items(io.BytesIO(data), prefix, label="test.json", chunk_bytes=chunk))


def test_valid_text_and_escapes_are_unchanged():
    values = ["plain", "é 東京 😀", "\u0000nul", 'quote " and \\ backslash', "\\ud800 is not an escape here",
              "tab\tnew\nline", "\U0001F600 as a pair"]
    for ensure_ascii in (True, False):
        data = json.dumps(values, ensure_ascii=ensure_ascii).encode("utf-8")
        assert _items(data) == values


def test_invalid_bytes_and_lone_surrogates_are_marked():
    data = b'["a\xffb", "c\xed\xa0\x80d", "e\\ud800f", "g\\udc00h", "i\\ud83d\\ude00j", "k\\\\ud800l"]'
    assert _items(data) == [f"a{M}b", f"c{M}{M}{M}d", f"e{M}f", f"g{M}h", "i😀j", "k\\ud800l"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 11, 12, 13, 64])
def test_chunk_boundaries_never_split_an_escape_or_a_character(chunk):
    values = [f"x{i}\\" + "😀é" * (i % 3) for i in range(20)]
    data = json.dumps(values).encode("ascii")[:-1] + b', "\\ud83d\\ude00", "\\ud800", "\\\\", "\xe6\x9d\xb1\xff"]'
    assert _items(data, chunk=chunk) == values + ["😀", M, "\\", f"東{M}"]


def test_truncated_json_names_the_file():
    with pytest.raises(JsonFormatError, match="test.json: truncated or malformed JSON"):
        _items(b'[{"a": 1}, {"a": ')
    with pytest.raises(JsonFormatError, match="test.json"):
        _items(b'[{"a": 1} {"a": 2}]')


def test_items_at_a_prefix_stream_one_by_one():
    document = {"info": {}, "images": [{"id": i} for i in range(5)], "annotations": [{"id": 9}]}
    data = json.dumps(document).encode()
    assert _items(data, "images.item") == document["images"]
    assert _items(data, "annotations.item") == [{"id": 9}]
