"""Structure before content: an upstream JSON, TSV or parquet file is checked for the shape its
reader expects before any row is read, and a reader that keeps no row of a file that has rows fails.

Per-row rules drop and count a malformed row; they cannot tell a file of another shape from a file
of bad rows, and would turn it into an empty table that looks like a success. So first:

- **JSON** (`check_json_shape`): the top level is an object or a list as expected, each expected
  key holds the expected type, and the lists of records hold records of the expected fields. It
  reads the events of the file only until every expected key has been seen (the head of the file
  for COCO, Karpathy and VG), so it costs little.
- **TSV** (`check_tsv_shape`) and **parquet** (`check_parquet_shape`): the columns.

Records are judged by the first `SAMPLE_RECORDS`: the file fails when none of them fits (a single
odd row is the per-row rules' business). A wrong shape is a `ShapeError` naming the file, where,
what was found and what was expected. Then, while reading, `require_rows` fails a reader that kept
no row of an upstream file that holds some (`NoRowsKeptError`, with the drop counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import ijson

from mm_assets.common.counts import Tally

from .json_stream import JsonFormatError, MarkedUtf8Stream
from .parquet_check import ColumnType, parquet_shape_problem

SAMPLE_RECORDS = 5
SHAPE_CHUNK_BYTES = 1 << 16  # the parser turns a whole chunk into events at once: small chunks, small memory
T = TypeVar("T")


class ShapeError(ValueError):
    """An upstream file is not shaped as its reader expects; the same file fails the same way
    again, so this is never worth a retry."""


class NoRowsKeptError(ValueError):
    """A reader kept no row of an upstream file that holds rows."""


@dataclass(frozen=True)
class Records:
    """A list whose records are objects with these fields (name -> type or types)."""

    fields: Mapping[str, "FieldType"]


FieldType = type | tuple[type, ...] | Records

_WORDS = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
          bool: "true/false", type(None): "null"}


def describe(value: object) -> str:
    """A JSON value in words, with a glimpse of it: `an object {"not": "a list"}`."""
    words = _WORDS.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return f"{words} of {len(value)} item(s) {str(value)[:80]}"
    return f"{words} {value!r:.80}"


def _expected(kind: FieldType) -> str:
    if isinstance(kind, Records):
        return f"a list of records with {', '.join(kind.fields)}"
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_WORDS.get(k, k.__name__) for k in kinds)


def _fits(value: object, kind: FieldType) -> bool:
    if isinstance(kind, Records):
        return isinstance(value, list) and (not value or _record_problem(value[:SAMPLE_RECORDS], kind) is None)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return any(type(value) is k or (k is float and type(value) is int) for k in kinds)


def _record_problem(records: list, shape: Records) -> str | None:
    """None when one of `records` fits `shape` (or there are none); else what the first one holds."""
    for record in records:
        if isinstance(record, dict) and all(name in record and _fits(record[name], kind)
                                            for name, kind in shape.fields.items()):
            return None
    if not records:
        return None
    first = records[0]
    if not isinstance(first, dict):
        return f"records that are {describe(first)}"
    for name, kind in shape.fields.items():
        if name not in first:
            return f"records without {name!r} (the first has {', '.join(map(repr, list(first)[:12]))})"
        if not _fits(first[name], kind):
            if isinstance(kind, Records) and isinstance(first[name], list):
                return f"records whose {name!r} holds {_record_problem(first[name][:SAMPLE_RECORDS], kind)}"
            return f"records whose {name!r} is {describe(first[name])}, not {_expected(kind)}"
    return "no record that fits"  # unreachable: the first record would have fitted


@dataclass(frozen=True)
class JsonShape:
    """The top level: a list of records (`top=list`), or an object whose `keys` hold these types."""

    top: type
    keys: Mapping[str, FieldType] = None  # for top=dict
    records: Records | None = None  # for top=list


_VALUE_EVENTS = {"start_map": dict, "start_array": list, "string": str, "boolean": bool, "null": type(None)}


def _event_type(event: str, value: object) -> type:
    return type(value) if event == "number" else _VALUE_EVENTS[event]


def _first_records(events: Iterator, prefix: str) -> list:
    """Up to SAMPLE_RECORDS items of the list at `prefix` (its start_array already consumed)."""
    records: list = []
    item = f"{prefix}.item" if prefix else "item"
    for current, event, value in events:
        if current == prefix and event == "end_array":
            return records
        if current != item:
            continue
        if event in ("start_map", "start_array"):
            builder = ijson.ObjectBuilder()
            depth = 1
            builder.event(event, value)
            while depth:
                _, event, value = next(events)
                depth += event in ("start_map", "start_array")
                depth -= event in ("end_map", "end_array")
                builder.event(event, value)
            records.append(builder.value)
        else:
            records.append(value)
        if len(records) >= SAMPLE_RECORDS:
            return records
    return records


def check_json_shape(raw: IO[bytes], shape: JsonShape, *, label: str) -> None:
    """Raise `ShapeError` (naming `label`) unless the JSON read from `raw` has `shape`."""
    events = iter(ijson.parse(MarkedUtf8Stream(raw, SHAPE_CHUNK_BYTES), use_float=True))
    try:
        try:
            _, event, value = next(events)
        except StopIteration:
            raise ShapeError(f"{label}: empty: no JSON at all, expected {_WORDS[shape.top]}") from None
        found = _event_type(event, value)
        if found is not shape.top:
            raise ShapeError(f"{label}: the top level is {_WORDS.get(found)}, expected {_WORDS[shape.top]}")
        if shape.top is list:
            problem = _record_problem(_first_records(events, ""), shape.records)
            if problem:
                raise ShapeError(f"{label}: the top-level list holds {problem}; expected {_expected(shape.records)}")
            return
        _check_keys(events, shape.keys, label)
    except ijson.JSONError as exc:
        raise JsonFormatError(f"{label}: truncated or malformed JSON: {' '.join(str(exc).split())[:300]}") from None


def _check_keys(events: Iterator, keys: Mapping[str, FieldType], label: str) -> None:
    pending, seen, key = dict(keys), [], None
    for current, event, value in events:
        if current == "" and event == "map_key":
            key = value
            seen.append(value)
            continue
        if current != key or event in ("end_map", "end_array"):
            continue
        kind = pending.pop(key, None)
        if kind is not None:
            found = _event_type(event, value)
            if isinstance(kind, Records):
                if found is not list:
                    raise ShapeError(f"{label}: key {key!r} holds {_WORDS.get(found)}, expected {_expected(kind)}"
                                     + (f": {_glimpse(events, event, value)}" if found is dict else ""))
                problem = _record_problem(_first_records(events, key), kind)
                if problem:
                    raise ShapeError(f"{label}: key {key!r} holds {problem}; expected {_expected(kind)}")
            elif not any(found is k for k in (kind if isinstance(kind, tuple) else (kind,))):
                raise ShapeError(f"{label}: key {key!r} holds {_WORDS.get(found)}, expected {_expected(kind)}")
        key = None
        if not pending:
            return
    raise ShapeError(f"{label}: no key {', '.join(map(repr, pending))} at the top level "
                     f"(keys found: {', '.join(map(repr, seen[:12])) or 'none'})")


def _glimpse(events: Iterator, event: str, value: object) -> str:
    """The start of the object whose start_map was just read, in words."""
    builder, depth, steps = ijson.ObjectBuilder(), 1, 0
    builder.event(event, value)
    while depth and steps < 50:
        _, event, value = next(events)
        depth += event in ("start_map", "start_array")
        depth -= event in ("end_map", "end_array")
        builder.event(event, value)
        steps += 1
    return describe(builder.value) + ("" if not depth else " ...")


@dataclass(frozen=True)
class TsvColumn:
    name: str
    fits: Callable[[str], bool]
    expected: str


def check_tsv_shape(path: str | Path, columns: Sequence[TsvColumn], *, encoding: str = "utf-8") -> None:
    """Raise `ShapeError` unless one of the first non-empty lines of `path` is `columns`, tab-separated."""
    path = Path(path)
    lines: list[tuple[int, str]] = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle):
            text = line.rstrip(b"\r\n").decode(encoding, "replace")
            if text.strip():
                lines.append((number, text))
            if len(lines) >= SAMPLE_RECORDS:
                break
    expected = " TAB ".join(column.name for column in columns)
    if not lines:
        raise ShapeError(f"{path}: empty: no line of {expected}")
    for _, text in lines:
        fields = text.split("\t")
        if len(fields) == len(columns) and all(c.fits(f) for c, f in zip(columns, fields)):
            return
    number, text = lines[0]
    fields = text.split("\t")
    if len(fields) != len(columns):
        found = f"{len(fields)} field(s)"
    else:
        found = next(f"{column.name} {field[:60]!r}, not {column.expected}"
                     for column, field in zip(columns, fields) if not column.fits(field))
    raise ShapeError(f"{path}: none of its first {len(lines)} lines is {expected}; line {number} has {found} "
                     f"({text[:100]!r})")


def check_parquet_shape(path: str | Path, columns: Mapping[str, ColumnType]) -> None:
    """Raise `ShapeError` unless `path` is a parquet file with these columns of these types."""
    problem = parquet_shape_problem(path, columns)
    if problem:
        raise ShapeError(f"{path}: {problem}")


def require_rows(items: Iterable[T], rows_of: Callable[[T], int], upstream_rows: Callable[[], int],
                 *, label: str, drops: Tally) -> Iterator[T]:
    """`items`, unchanged; at their end, `NoRowsKeptError` when they held no row while the upstream
    file (`upstream_rows()` once read) holds some. Raised inside an atomic write, nothing is written."""
    kept = 0
    for item in items:
        kept += rows_of(item)
        yield item
    read = upstream_rows()
    if kept == 0 and read > 0:
        reasons = ", ".join(f"{key} {count:,}" for key, count in drops.counts.most_common(6)) or "no drop counted"
        raise NoRowsKeptError(f"{label}: none of its {read:,} rows was kept ({reasons}); nothing was written")
