"""Google's CC3M training index (caption TAB url, no header) as a parquet table of row ids.

Row ids are 0-based line numbers of the TSV, so they stay Google's positions even when a line is
malformed: such a line keeps its id, is left out of the table, and is counted and listed. The TSV
is read with quoting off (captions contain quotes) and streamed: memory does not grow with it.
The hub's parquet copy (columns `caption`, `image_url`, rows in Google's order) reads the same.
Before any row is read, the file's shape is checked (`formats/shape.py`): one of its first lines
must be caption TAB url (an http(s) URL), or the parquet file must have those columns as strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.datasets.cc3m.shards import shard_rows
from mm_assets.fetch.content import describe_file, read_head
from mm_assets.fetch.verify import VerificationError
from mm_assets.formats.parquet import parquet_writer
from mm_assets.formats.parquet_check import STRING, check_parquet
from mm_assets.formats.shape import ShapeError, TsvColumn, check_parquet_shape, check_tsv_shape

INDEX_SCHEMA = pa.schema([("row_id", pa.int64()), ("caption", pa.string()), ("url", pa.string())])
ROW_GROUP_ROWS = 10_000
BATCH_ROWS = 100_000
LINES_KEY = b"mm_assets.cc3m.lines"  # row ids in the source: the next id after the last line
SHARD_SIZE_KEY = b"mm_assets.cc3m.shard_size"
MAX_LISTED = 50  # malformed rows listed by line (all are counted)
HUB_COLUMNS = ("caption", "image_url")
TSV_COLUMNS = (TsvColumn("caption", lambda field: bool(field.strip()), "a caption"),
               TsvColumn("url", lambda field: field.strip().lower().startswith(("http://", "https://")),
                         "an http(s) URL"))


class IndexFileError(ValueError):
    """The index cannot be read as CC3M's (too many malformed rows, a wrong file)."""


@dataclass
class Malformed:
    counts: dict[str, int] = field(default_factory=dict)
    listed: list[tuple[int, str, str]] = field(default_factory=list)  # (row id, reason, start of line)

    def add(self, row_id: int, reason: str, line: bytes) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append((row_id, reason, line[:120].decode("utf-8", "replace")))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class IndexSummary:
    rows: int  # rows in the table
    lines: int  # row ids used, malformed lines included
    malformed: Malformed
    shard_size: int


def write_index(source: Path, output: Path, *, shard_size: int, max_malformed: int) -> IndexSummary:
    """Parse the TSV (or the hub's parquet) at `source` into `output`, atomically."""
    try:
        if source.suffix == ".parquet":
            check_parquet_shape(source, {name: STRING for name in HUB_COLUMNS})
        else:
            check_tsv_shape(source, TSV_COLUMNS)
    except ShapeError as exc:
        raise IndexFileError(f"{exc}: not CC3M's caption TAB url index") from None
    malformed = Malformed()
    lines = [0]  # row ids used so far: the next row id
    rows = 0
    reader = _hub_rows(source, lines, malformed) if source.suffix == ".parquet" else _tsv_rows(source, lines, malformed)
    with parquet_writer(output, INDEX_SCHEMA, compression="zstd") as writer:
        for batch in _batches(reader):
            if malformed.total > max_malformed:
                raise IndexFileError(_too_many(source, malformed, max_malformed))
            rows += batch.num_rows
            writer.write_table(batch, row_group_size=ROW_GROUP_ROWS)
        if malformed.total > max_malformed:
            raise IndexFileError(_too_many(source, malformed, max_malformed))
        if rows == 0:
            raise IndexFileError(f"{source}: no rows of caption TAB url")
        writer.add_key_value_metadata({LINES_KEY: str(lines[0]).encode(), SHARD_SIZE_KEY: str(shard_size).encode()})
    return IndexSummary(rows=rows, lines=lines[0], malformed=malformed, shard_size=shard_size)


def _too_many(source: Path, malformed: Malformed, limit: int) -> str:
    first = "; ".join(f"line {row_id}: {reason} ({text!r})" for row_id, reason, text in malformed.listed[:3])
    return (f"{source}: more than {limit:,} malformed rows (MM_CC3M_MAX_MALFORMED_ROWS); is this "
            f"Google's caption TAB url TSV? first: {first}")


def _batches(rows: Iterator[tuple[int, str, str]]) -> Iterator[pa.Table]:
    ids: list[int] = []
    captions: list[str] = []
    urls: list[str] = []
    for row_id, caption, url in rows:
        ids.append(row_id)
        captions.append(caption)
        urls.append(url)
        if len(ids) >= BATCH_ROWS:
            yield pa.table([ids, captions, urls], schema=INDEX_SCHEMA)
            ids, captions, urls = [], [], []
    if ids:
        yield pa.table([ids, captions, urls], schema=INDEX_SCHEMA)


def _tsv_rows(source: Path, lines: list[int], malformed: Malformed) -> Iterator[tuple[int, str, str]]:
    with open(source, "rb") as handle:
        for row_id, line in enumerate(handle):
            lines[0] = row_id + 1
            line = line.rstrip(b"\n").removesuffix(b"\r")
            parsed = _parse_line(line)
            if isinstance(parsed, str):
                malformed.add(row_id, parsed, line)
            else:
                yield (row_id, *parsed)


def _parse_line(line: bytes) -> tuple[str, str] | str:
    """(caption, url), or the reason the line is malformed."""
    fields = line.split(b"\t")
    if len(fields) != 2:
        return "empty_line" if not line.strip() else f"fields_{len(fields)}"
    try:
        caption, url = fields[0].decode("utf-8"), fields[1].decode("utf-8").strip()
    except UnicodeDecodeError:
        return "invalid_utf8"
    if not caption.strip():
        return "empty_caption"
    if not url:
        return "empty_url"
    return caption, url


def _hub_rows(source: Path, lines: list[int], malformed: Malformed) -> Iterator[tuple[int, str, str]]:
    table = pq.ParquetFile(source)  # its columns were checked by write_index
    row_id = 0
    for batch in table.iter_batches(columns=list(HUB_COLUMNS), batch_size=BATCH_ROWS):
        for caption, url in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
            lines[0] = row_id + 1
            if not (caption or "").strip():
                malformed.add(row_id, "empty_caption", f"{caption!r}\t{url!r}".encode())
            elif not (url or "").strip():
                malformed.add(row_id, "empty_url", f"{caption!r}\t{url!r}".encode())
            else:
                yield row_id, caption, url.strip()
            row_id += 1


@dataclass(frozen=True)
class IndexInfo:
    rows: int
    lines: int
    shard_size: int


def read_index_info(index: Path) -> IndexInfo:
    metadata = pq.ParquetFile(index).metadata
    values = metadata.metadata or {}
    return IndexInfo(rows=metadata.num_rows, lines=int(values[LINES_KEY]), shard_size=int(values[SHARD_SIZE_KEY]))


def read_shard(index: Path, shard: str) -> pa.Table:
    """The rows (row_id, caption, url) of one shard, read from the row groups that hold them."""
    info = read_index_info(index)
    wanted = shard_rows(shard, info.shard_size)
    if wanted.start >= info.lines:
        raise IndexFileError(f"shard {shard} is past the end of the index ({info.lines:,} row ids, "
                          f"{info.shard_size:,} per shard)")
    parquet = pq.ParquetFile(index)
    groups = []
    for number in range(parquet.metadata.num_row_groups):
        stats = parquet.metadata.row_group(number).column(0).statistics
        if stats is None or not stats.has_min_max or (stats.min < wanted.stop and stats.max >= wanted.start):
            groups.append(number)
    table = parquet.read_row_groups(groups) if groups else INDEX_SCHEMA.empty_table()
    ids = table["row_id"]
    return table.filter(pc.and_(pc.greater_equal(ids, wanted.start), pc.less(ids, wanted.stop)))


def verify_index_file(path: Path) -> str:
    """A download check: the file is a whole caption TAB url TSV (or the hub's parquet), not an
    error page or a body cut short. A cut TSV is seen when its last line has no caption TAB url
    (a cut in a caption or at a tab); a cut inside the last URL is not (the server's
    Content-Length, when sent, catches that; a malformed last row is the index's to count)."""
    head = read_head(path)
    if path.suffix == ".parquet":
        if head[:4] != b"PAR1":
            raise VerificationError(f"not a parquet file: {describe_file(path)}")
        return check_parquet(path, {name: STRING for name in HUB_COLUMNS})
    first = head.split(b"\n", 1)[0]
    if b"\t" not in first or head.lstrip()[:1] in (b"<", b"{"):
        raise VerificationError(f"not a caption TAB url TSV: {describe_file(path)}")
    last = _last_line(path)
    caption, tab, url = last.rpartition(b"\t")
    if not tab or not url.strip():
        raise VerificationError(f"the last line is not caption TAB url ({last[-80:]!r}): the download was cut "
                                "short; the next run fetches it again")
    return "first and last lines are caption TAB url"


def _last_line(path: Path, window: int = 65536) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - window))
        return handle.read().rstrip(b"\r\n").rpartition(b"\n")[2]
