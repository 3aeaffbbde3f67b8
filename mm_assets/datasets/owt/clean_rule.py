"""The OWT text-cleaning rule (DESIGN.md §2), one document at a time, with counts of what it drops.

UTF-8 decoded dropping invalid bytes, NULs removed, lines split as Python's text mode does
(`\r\n`, `\r`, `\n` only), each line `str.strip()`ed, empty lines dropped.
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


def clean_document(raw: bytes, stats: CleanStats) -> list[str]:
    """Return the kept lines of one document and add what happened to `stats`."""
    stats.documents += 1
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
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    pieces = text.split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()  # a final newline ends the last line; it does not start an empty one
    kept = [line for line in (piece.strip() for piece in pieces) if line]
    stats.lines_kept += len(kept)
    stats.empty_lines_dropped += len(pieces) - len(kept)
    return kept
