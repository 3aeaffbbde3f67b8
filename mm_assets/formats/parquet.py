"""Parquet outputs, written atomically (temp file + rename) and streamed in bounded row groups."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from mm_assets.common.atomic import atomic_write

DEFAULT_ROW_GROUP_ROWS = 64 * 1024  # small enough to stream, large enough to compress well


@contextlib.contextmanager
def parquet_writer(path: str | os.PathLike, schema: pa.Schema, **options) -> Iterator[pq.ParquetWriter]:
    """A `pq.ParquetWriter` whose file appears at `path` only when the block ends without error."""
    with atomic_write(Path(path)) as handle, pq.ParquetWriter(handle, schema, **options) as writer:
        yield writer


def write_parquet(table: pa.Table, path: str | os.PathLike, *,
                  row_group_rows: int = DEFAULT_ROW_GROUP_ROWS, **options) -> None:
    with parquet_writer(path, table.schema, **options) as writer:
        writer.write_table(table, row_group_size=row_group_rows)
