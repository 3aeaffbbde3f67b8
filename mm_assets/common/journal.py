"""An append-only journal of finished work items, so that a killed step resumes where it stopped.

Each record is a small JSON header and a body (e.g. an image's bytes), framed with their lengths
and a CRC32 of both. A kill leaves at most a torn last record, which the next open cuts off;
everything before it is whole, so the work it records is not done again. The journal starts with
an identity (what it is the progress of, and under which settings): a journal whose identity
differs (another shard size, other validation settings) is discarded rather than mixed in.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

MAGIC = b"MMJOURNAL1\n"
_FRAME = struct.Struct("<4sIQI")  # record mark, header length, body length, crc32(header + body)
_MARK = b"REC1"


@dataclass(frozen=True)
class Entry:
    header: dict[str, Any]
    offset: int  # of the body in the file
    length: int


class Journal:
    """Open with `Journal.open(path, identity)`; `entries` holds what earlier runs finished."""

    def __init__(self, path: Path, handle, entries: list[Entry]) -> None:
        self.path, self._handle, self.entries = path, handle, entries
        self._reader = open(path, "rb")
        self._lock = threading.Lock()  # appends may come from several threads

    @classmethod
    def open(cls, path: str | os.PathLike, identity: dict[str, Any]) -> "Journal":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        first = MAGIC + json.dumps(identity, sort_keys=True).encode() + b"\n"
        entries: list[Entry] = []
        end = 0
        if path.exists():
            entries, end = _read_whole_records(path, first)
        if end == 0:  # none, or another identity: start afresh
            with open(path, "wb") as fresh:
                fresh.write(first)
                fresh.flush()
                os.fsync(fresh.fileno())
            end = len(first)
        handle = open(path, "r+b", buffering=0)  # bodies are large: written straight, not copied twice
        handle.truncate(end)  # a torn last record goes
        handle.seek(end)
        return cls(path, handle, entries)

    def append(self, header: dict[str, Any], body: bytes = b"") -> Entry:
        """Record one finished item; safe to call from several threads."""
        data = json.dumps(header, sort_keys=True).encode()
        crc = zlib.crc32(body, zlib.crc32(data))  # outside the lock: zlib releases the GIL
        frame = _FRAME.pack(_MARK, len(data), len(body), crc) + data
        with self._lock:
            start = self._handle.seek(0, os.SEEK_END)
            _write_all(self._handle, frame)
            _write_all(self._handle, body)
            entry = Entry(header, start + len(frame), len(body))
            self.entries.append(entry)
        return entry

    def read_body(self, entry: Entry) -> bytes:
        return os.pread(self._reader.fileno(), entry.length, entry.offset)

    def sync(self) -> None:
        """Make what was appended survive a crash of the machine (a killed process loses nothing)."""
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()
        self._reader.close()

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        if not self._handle.closed:
            self.sync()
            self.close()


def _write_all(handle, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[handle.write(view):]


def _read_whole_records(path: Path, first: bytes) -> tuple[list[Entry], int]:
    """The whole records of a journal with this identity line and where they end; ([], 0) if
    the identity differs."""
    entries: list[Entry] = []
    with open(path, "rb") as handle:
        if handle.read(len(first)) != first:
            return [], 0
        end = len(first)
        for entry, record_end in _records(handle, end):
            entries.append(entry)
            end = record_end
    return entries, end


def _records(handle, position: int) -> Iterator[tuple[Entry, int]]:
    while True:
        frame = handle.read(_FRAME.size)
        if len(frame) < _FRAME.size:
            return
        mark, header_length, body_length, crc = _FRAME.unpack(frame)
        if mark != _MARK:
            return
        data = handle.read(header_length)
        body = handle.read(body_length)
        if len(data) < header_length or len(body) < body_length:
            return
        if zlib.crc32(body, zlib.crc32(data)) != crc:
            return
        try:
            header = json.loads(data)
        except ValueError:
            return
        offset = position + _FRAME.size + header_length
        position = offset + body_length
        yield Entry(header, offset, body_length), position
