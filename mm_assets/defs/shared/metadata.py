"""Metadata shared by every asset and check: a table written to disk (where, rows, columns), records
(rows of the same columns: counts per reason, figures per split) as tables the UI sorts and filters,
and a check's result with its problems."""

from pathlib import Path
from typing import Iterable, Sequence

import dagster as dg
import pyarrow as pa

from mm_assets.common.counts import Tally

COLUMN_TYPES = {int: "int", float: "float", str: "string"}


def table_metadata(path: Path, schema: pa.Schema, rows: int) -> dict:
    return {
        "path": dg.MetadataValue.path(str(path)),
        "dagster/uri": str(path),
        "dagster/row_count": rows,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(field.name, str(field.type)) for field in schema]),
    }


def records_table(columns: dict[str, type], rows: Iterable[Sequence]) -> dg.TableMetadataValue:
    """`rows` (values in the order of `columns`: name -> int, float or str) as a metadata table."""
    names = list(columns)
    return dg.MetadataValue.table(
        records=[dg.TableRecord(dict(zip(names, row, strict=True))) for row in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(name, COLUMN_TYPES[kind]) for name, kind in columns.items()]))


def tally_table(tally: Tally) -> dg.TableMetadataValue:
    """Every key of a tally, its count and a few examples."""
    return records_table({"what": str, "count": int, "examples": str}, tally.rows())


def check_result(problems: list[str], *, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
                 **metadata) -> dg.AssetCheckResult:
    """Passed when nothing is wrong; `problems` one a line ("none") after the other `metadata`."""
    return dg.AssetCheckResult(passed=not problems, severity=severity,
                               metadata={**metadata, "problems": "\n".join(problems) or "none"})
