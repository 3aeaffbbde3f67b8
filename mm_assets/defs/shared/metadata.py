"""Dagster's standard metadata for a table written to disk: where it is, its rows, its columns."""

from pathlib import Path

import dagster as dg
import pyarrow as pa


def table_metadata(path: Path, schema: pa.Schema, rows: int) -> dict:
    return {
        "path": dg.MetadataValue.path(str(path)),
        "dagster/uri": str(path),
        "dagster/row_count": rows,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(field.name, str(field.type)) for field in schema]),
    }
