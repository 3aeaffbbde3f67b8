"""The pairs table every image-text source writes (coco, vg, vg_concat, cc3m, the manifest).

Columns (docs/data-rules.md, "Pairs tables"): `source`, `image_id` (int64), `image` (a path
relative to `$MM_DATA_ROOT`, or `<shard>.tar#<key>`), `caption` (the exact text encoded),
`tokens` (list<uint16>, `<s>` ... `</s>`), `n_tokens`. Rows are encoded in batches on worker
threads, gathered in input order, and written in row groups of `ROW_GROUP_ROWS`, so a reader can
stream the table and memory stays bounded whatever its size. Statistics for the metadata (the
seed's Table 1, the token-length histogram) are gathered on the way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mm_assets.common.counts import Tally
from mm_assets.common.parallel import ordered_map
from mm_assets.common.progress import Progress
from mm_assets.formats.parquet import parquet_writer
from mm_assets.text.captions import MAX_CAPTION_TOKENS, TOKENS_TYPE, CaptionEncoder, EncodedCaptions

PAIRS_SCHEMA = pa.schema([
    ("source", pa.string()),
    ("image_id", pa.int64()),
    ("image", pa.string()),
    ("caption", pa.string()),
    ("tokens", TOKENS_TYPE),
    ("n_tokens", pa.int32()),
])
SOURCES = ("coco", "vg", "vg_concat", "cc3m")
ROW_GROUP_ROWS = 64 * 1024  # a few MB per group: streamable, and large enough to compress well
ENCODE_BATCH_ROWS = 16 * 1024  # one tiktoken call per batch; several batches in flight
PARQUET_OPTIONS = {"compression": "zstd"}
T = TypeVar("T")


@dataclass
class PendingPairs:
    """Pairs of one source before encoding: captions already cleaned (`clean_caption`)."""

    source: str
    image_ids: list[int] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)

    def add(self, image_id: int, image: str, caption: str) -> None:
        self.image_ids.append(image_id)
        self.images.append(image)
        self.captions.append(caption)

    def extend(self, image_id: int, image: str, captions: list[str]) -> None:
        """Several captions of one image."""
        self.image_ids.extend([image_id] * len(captions))
        self.images.extend([image] * len(captions))
        self.captions.extend(captions)

    def __len__(self) -> int:
        return len(self.captions)


def encode_pairs(encoder: CaptionEncoder, pending: PendingPairs) -> tuple[pa.RecordBatch, dict[str, int]]:
    """A record batch of the pairs table, and the encoding counts (`truncated_captions`, `unk_tokens`)."""
    return pairs_batch(pending, encoder.encode(pending.captions))


def pairs_batch(pending: PendingPairs, encoded: EncodedCaptions) -> tuple[pa.RecordBatch, dict[str, int]]:
    batch = pa.RecordBatch.from_arrays([
        pa.array([pending.source] * len(pending), pa.string()),
        pa.array(pending.image_ids, pa.int64()),
        pa.array(pending.images, pa.string()),
        pa.array(pending.captions, pa.string()),
        encoded.tokens_array(),
        pa.array(encoded.n_tokens, pa.int32()),
    ], schema=PAIRS_SCHEMA)
    return batch, {"truncated_captions": encoded.truncated, "unk_tokens": encoded.unk_tokens}


@dataclass
class SourceStats:
    """What the thesis's Table 1 reports for one source, gathered while its rows are written."""

    pairs: int = 0
    image_ids: set[int] = field(default_factory=set)
    words: int = 0
    token_histogram: np.ndarray = field(default_factory=lambda: np.zeros(MAX_CAPTION_TOKENS + 1, np.int64))

    def add(self, batch: pa.RecordBatch) -> None:
        self.pairs += batch.num_rows
        self.image_ids.update(pc.unique(batch.column("image_id")).to_pylist())
        words = pc.list_value_length(pc.utf8_split_whitespace(batch.column("caption")))
        self.words += int(pc.sum(words).as_py() or 0)
        lengths = np.minimum(batch.column("n_tokens").to_numpy(), MAX_CAPTION_TOKENS + 1)
        self.token_histogram += np.bincount(lengths, minlength=MAX_CAPTION_TOKENS + 1)[:MAX_CAPTION_TOKENS + 1]

    @property
    def images(self) -> int:
        return len(self.image_ids)

    @property
    def captions_per_image(self) -> float:
        return self.pairs / self.images if self.images else 0.0

    @property
    def words_per_caption(self) -> float:
        return self.words / self.pairs if self.pairs else 0.0


class PairsWriter:
    """Writes record batches of the pairs table in row groups of `ROW_GROUP_ROWS`; counts per source."""

    def __init__(self, writer) -> None:
        self._writer = writer
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0
        self.stats: dict[str, SourceStats] = {}
        self.counts = Tally()

    def add(self, batch: pa.RecordBatch, counts: dict[str, int] | None = None) -> None:
        if batch.num_rows == 0:
            return
        sources = pc.unique(batch.column("source")).to_pylist()
        for source in sources:
            rows = batch if len(sources) == 1 else batch.filter(pc.equal(batch.column("source"), source))
            self.stats.setdefault(source, SourceStats()).add(rows)
        for key, value in (counts or {}).items():
            self.counts.add(key, value)
        self._buffer.append(batch)
        self._buffered += batch.num_rows
        while self._buffered >= ROW_GROUP_ROWS:
            self._flush(ROW_GROUP_ROWS)

    def _flush(self, rows: int) -> None:
        table = pa.Table.from_batches(self._buffer, schema=PAIRS_SCHEMA)
        self._writer.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self._buffer = rest.combine_chunks().to_batches() if rest.num_rows else []
        self._buffered = rest.num_rows

    def close(self) -> None:
        if self._buffered:
            self._flush(self._buffered)

    @property
    def rows(self) -> int:
        return sum(stats.pairs for stats in self.stats.values())


def write_pairs_table(
    path: str | os.PathLike,
    items: Iterable[T],
    encode_item: Callable[[T], tuple[pa.RecordBatch, dict[str, int]]],
    *,
    workers: int,
    progress: Progress | None = None,
) -> PairsWriter:
    """Encode `items` on `workers` threads and write the batches, in order, to `path` (atomically).

    `encode_item` makes one record batch of the table (and its counts) from one item, for example
    `functools.partial(encode_pairs, encoder)` over `PendingPairs`.
    """
    with parquet_writer(Path(path), PAIRS_SCHEMA, **PARQUET_OPTIONS) as writer:
        pairs = PairsWriter(writer)
        for batch, counts in ordered_map(encode_item, items, workers=workers):
            pairs.add(batch, counts)
            if progress is not None:
                progress.advance(batch.num_rows)
        pairs.close()
    return pairs


def batched(groups: Iterable[tuple[int, str, list[str]]], source: str,
            size: int | None = None) -> Iterator[PendingPairs]:
    """(image_id, image, cleaned captions) groups in `PendingPairs` batches of about `size` pairs
    (default `ENCODE_BATCH_ROWS`; a group is not split)."""
    size = size or ENCODE_BATCH_ROWS
    pending = PendingPairs(source)
    for image_id, image, captions in groups:
        if captions:
            pending.extend(image_id, image, captions)
        if len(pending) >= size:
            yield pending
            pending = PendingPairs(source)
    if len(pending):
        yield pending


def iter_table_batches(path: str | os.PathLike, columns: list[str] | None = None,
                       batch_rows: int = ROW_GROUP_ROWS) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as table:
        yield from table.iter_batches(batch_size=batch_rows, columns=columns)

