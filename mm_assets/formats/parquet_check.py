"""Is a fetched parquet file whole, and does it hold the columns a dataset reads? (a download `verify`)

A file passes when it starts and ends with the `PAR1` magic, its footer parses, every required
column is there with a type the dataset can read, and every row group of those columns decodes
(decompression and page checks included). Anything else is a `VerificationError` that says, in
plain words, what is wrong and where: a truncated download, an HTML page, a schema change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from mm_assets.fetch.verify import VerificationError, Verifier

MAGIC = b"PAR1"
# A column's expected type, as a check on its arrow type and the words that name it in errors.
ColumnType = tuple[Callable[[pa.DataType], bool], str]

INTEGER: ColumnType = (pa.types.is_integer, "an integer")
FLOAT: ColumnType = (lambda t: pa.types.is_floating(t) or pa.types.is_integer(t), "a number")
STRING: ColumnType = (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "a string")


def struct_of(**fields: ColumnType) -> ColumnType:
    def check(dtype: pa.DataType) -> bool:
        if not pa.types.is_struct(dtype):
            return False
        names = {dtype.field(i).name: dtype.field(i).type for i in range(dtype.num_fields)}
        return all(name in names and ok(names[name]) for name, (ok, _) in fields.items())
    words = ", ".join(f"{name}: {what}" for name, (_, what) in fields.items())
    return check, f"a struct of {{{words}}}"


BINARY: ColumnType = (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t), "bytes")
# The hub's image feature: {bytes, path}.
HUB_IMAGE: ColumnType = struct_of(bytes=BINARY, path=STRING)


def _open_checked(path: Path, columns: Mapping[str, ColumnType]) -> tuple[pq.ParquetFile | None, str | None]:
    """(the file, None) when its magic, footer and columns are sound; else (None, what is wrong)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(max(size - 4, 0))
        tail = handle.read(4)
    if size < 12 or head != MAGIC:
        return None, "not a parquet file: it does not start with the PAR1 magic"
    if tail != MAGIC:
        return None, (f"truncated parquet file: {size:,} bytes and no PAR1 magic at the end "
                      "(the footer that lists its row groups is missing)")
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        return None, f"damaged parquet footer: {exc}"
    for name, (ok, what) in columns.items():
        if name not in schema.names:
            return None, f"no column {name!r} (columns: {', '.join(schema.names)})"
        if not ok(schema.field(name).type):
            return None, f"column {name!r} is {schema.field(name).type}, expected {what}"
    return parquet, None


def parquet_shape_problem(path: str | Path, columns: Mapping[str, ColumnType]) -> str | None:
    """What is wrong with the file's magic, footer or columns, or None (no row is read)."""
    parquet, problem = _open_checked(Path(path), columns)
    if parquet is not None:
        parquet.close()
    return problem


def check_parquet(path: str | Path, columns: Mapping[str, ColumnType]) -> str:
    """Check the file as the module says; return what was checked."""
    parquet, problem = _open_checked(Path(path), columns)
    if problem:
        raise VerificationError(problem)
    groups = parquet.metadata.num_row_groups
    for group in range(groups):
        try:
            parquet.read_row_group(group, columns=list(columns))
        except (pa.ArrowException, OSError) as exc:
            raise VerificationError(f"row group {group} of {groups} does not decode: {exc}") from None
    return (f"parquet: {parquet.metadata.num_rows:,} rows in {groups} row group(s); "
            f"columns {', '.join(columns)} present and decoded")


def parquet_verifier(columns: Mapping[str, ColumnType]) -> Verifier:
    """A `verify` for `fetch_file`: `check_parquet` with these columns."""
    return lambda path: check_parquet(path, columns)
