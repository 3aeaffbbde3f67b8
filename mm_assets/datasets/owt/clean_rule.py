"""The OWT text-cleaning rule (docs/data-rules.md, "OpenWebText cleaning"), with counts of what it drops.

UTF-8 decoded dropping invalid bytes, NULs removed, lines split as Python's text mode does
(`\r\n`, `\r`, `\n` only), each line `str.strip()`ed, empty lines dropped.

`clean_document` states the rule one document at a time; `clean_documents` applies it to a whole
`.xz` member's documents at once (one split and one C-level strip over the joined text instead of
Python work per line), giving the same lines and the same counts: a test compares the two on
every edge case and on random documents.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class CleanStats:
    documents: int = 0
    lines_kept: int = 0
    empty_lines_dropped: int = 0
    nul_removed: int = 0
    invalid_bytes_dropped: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    def add(self, other: "CleanStats") -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def as_dict(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def _decode(raw: bytes, stats: CleanStats) -> str:
    """Steps 1-2 of the rule: UTF-8 decoded dropping invalid bytes, NULs removed, both counted."""
    stats.bytes_in += len(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="ignore")
        # What `ignore` drops is exactly the bytes missing from the valid re-encoding.
        stats.invalid_bytes_dropped += len(raw) - len(text.encode("utf-8"))
    if "\x00" in text:
        stats.nul_removed += text.count("\x00")
        text = text.replace("\x00", "")
    return text


def clean_document(raw: bytes, stats: CleanStats) -> list[str]:
    """Return the kept lines of one document and add what happened to `stats`."""
    stats.documents += 1
    text = _decode(raw, stats)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    pieces = text.split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()  # a final newline ends the last line; it does not start an empty one
    kept = [line for line in (piece.strip() for piece in pieces) if line]
    stats.lines_kept += len(kept)
    stats.empty_lines_dropped += len(pieces) - len(kept)
    return kept


def clean_documents(raws: list[bytes], stats: CleanStats) -> list[str]:
    """`clean_document` over many documents, in order, in one pass over their joined text."""
    texts: list[str] = []
    final_newlines = 0  # documents whose text ends with "\n": joined, that newline meets the joiner
    for raw in raws:
        text = _decode(raw, stats)
        if text:  # an empty document has no line, not even an empty one
            texts.append(text)
            final_newlines += text.endswith("\n")
    stats.documents += len(raws)
    # A document's final "\r" and the joining "\n" become one line end, as the "\r" alone would;
    # a final "\n" (or "\r\n") and the joiner make an empty piece that the rule never counts.
    joined = "\n".join(texts)
    if "\r" in joined:
        joined = joined.replace("\r\n", "\n").replace("\r", "\n")
    pieces = joined.split("\n") if texts else []
    if pieces and pieces[-1] == "":
        pieces.pop()  # the last document's own final line end, never followed by the joiner
        final_newlines -= texts[-1].endswith("\n")
    kept = list(filter(None, map(str.strip, pieces)))
    stats.lines_kept += len(kept)
    stats.empty_lines_dropped += len(pieces) - len(kept) - final_newlines
    return kept
