"""Large JSON read as a stream of items in bounded memory, with text that is not valid Unicode
marked instead of stopping the parse or being changed without a word.

ijson's fast backend (yajl) refuses raw bytes that are not UTF-8, which would stop a 700 MB parse
at one bad caption, and it turns a lone surrogate escape (`\\ud800`) into "?" silently. So the
bytes are filtered on their way in: each invalid byte and each lone surrogate escape becomes
`INVALID_TEXT_MARK` (U+FDD0, a noncharacter that Unicode reserves for such internal use), which
the caption rule removes and counts (`mm_assets/text/captions.py`). Valid text, escapes included
(a surrogate pair stays a pair), reaches the parser unchanged.
"""

from __future__ import annotations

import codecs
import re
from typing import IO, Any, Iterator

import ijson

INVALID_TEXT_MARK = "\ufdd0"
CHUNK_BYTES = 1 << 20
# A JSON escape: a surrogate pair, a lone surrogate, any other escaped character, or a backslash
# that ends the text so far (its escape continues in the next chunk).
_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|(?P<lone>\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
    r"|\\.|\\\Z", re.DOTALL)
_LONGEST_ESCAPE = 12  # a surrogate pair: \\uXXXX\\uXXXX
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]")  # what decoding with "surrogateescape" leaves


class JsonFormatError(ValueError):
    """The JSON is truncated or malformed; the message names the file."""


def _mark_lone_surrogates(match: re.Match) -> str:
    return INVALID_TEXT_MARK if match.group("lone") else match.group(0)


def mark_invalid_text(text: str, *, final: bool) -> tuple[str, str]:
    """(text with invalid bytes and lone surrogate escapes marked, text held back for the next chunk).

    Escapes are found by one scan from the start of `text` (which always starts outside an
    escape), so an escaped backslash is never mistaken for the start of one. Unless `final`, an
    escape that starts in the last 12 characters is held back: its end may be in the next chunk.
    """
    if not text.isascii():
        text = _ESCAPED_BYTES.sub(INVALID_TEXT_MARK, text)
    if "\\" not in text:
        return text, ""
    cut = len(text)
    if not final and "\\" in text[-_LONGEST_ESCAPE:]:
        tail = len(text) - _LONGEST_ESCAPE
        cut = next((m.start() for m in _ESCAPE.finditer(text) if m.start() >= tail), cut)
    return _ESCAPE.sub(_mark_lone_surrogates, text[:cut]), text[cut:]


class MarkedUtf8Stream:
    """A binary stream's bytes as valid UTF-8 for the parser, invalid text marked."""

    def __init__(self, raw: IO[bytes], chunk_bytes: int = CHUNK_BYTES) -> None:
        self._raw = raw
        self._chunk = chunk_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._carry = ""
        self._done = False

    def read(self, size: int = -1) -> bytes:
        """The next piece of the stream (of any length); b"" only at its end, or when size is 0."""
        if size == 0:  # ijson probes the stream's type with read(0)
            return b""
        while not self._done:
            data = self._raw.read(self._chunk)
            final = not data
            text = self._carry + self._decoder.decode(data, final=final)
            ready, self._carry = mark_invalid_text(text, final=final)
            self._done = final
            if ready:
                return ready.encode("utf-8")
        return b""


def iter_json_items(raw: IO[bytes], prefix: str, *, label: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Any]:
    """The items at `prefix` (ijson's notation: `item`, `images.item`), one at a time.

    Numbers come back as int or float (never Decimal). A truncated or malformed document raises
    `JsonFormatError` naming `label` once the parser reaches the damage.
    """
    try:
        yield from ijson.items(MarkedUtf8Stream(raw, chunk_bytes), prefix, use_float=True)
    except ijson.JSONError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise JsonFormatError(f"{label}: truncated or malformed JSON: {detail}") from None
