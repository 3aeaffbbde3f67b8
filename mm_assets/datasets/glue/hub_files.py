"""The hub's GLUE parquet files: what each must hold, and its rows read back as the recipe's fields.

Each file has the task's text columns, `label` and `idx`. The hub writes the `datasets` feature
description in the file's `huggingface` metadata; when it names the label classes, they must be
the ones this pipeline's label rule expects, or the label text would silently change meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from mm_assets.fetch.verify import VerificationError, Verifier
from mm_assets.formats.parquet_check import FLOAT, INTEGER, STRING, check_parquet
from mm_assets.formats.shape import ShapeError, check_parquet_shape

from .tasks import GlueTask


class GlueFileError(ValueError):
    """A hub file is not what the task's rules read (shape, class names, empty text)."""


def required_columns(task: GlueTask) -> dict:
    return {**{name: STRING for name in task.text_columns},
            "label": FLOAT if task.is_regression else INTEGER, "idx": INTEGER}


def hub_label_names(path: str | Path) -> tuple[str, ...] | None:
    """The class names the file's `huggingface` metadata gives its `label` column, if any."""
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(b"huggingface")
    if not raw:
        return None
    features = json.loads(raw).get("info", {}).get("features", {})
    names = features.get("label", {}).get("names")
    return tuple(names) if names else None


def check_label_names(task: GlueTask, path: str | Path) -> None:
    found = hub_label_names(path)
    if found is not None and task.label_names and found != task.label_names:
        raise GlueFileError(
            f"{path}: the hub names {task.key}'s label classes {list(found)}, but its label rule "
            f"expects {list(task.label_names)} (index order); the source changed: check "
            "docs/data-rules.md, 'GLUE', before using it")


def glue_verifier(task: GlueTask) -> Verifier:
    """A download `verify`: a whole parquet file with the task's columns and class names."""
    def verify(path: Path) -> str:
        checked = check_parquet(path, required_columns(task))
        try:
            check_label_names(task, path)
        except GlueFileError as exc:
            raise VerificationError(str(exc), retryable=False) from None
        return checked
    return verify


@dataclass(frozen=True)
class SplitRows:
    texts: tuple[list[str], ...]  # one list per input column, in row order
    labels: list  # class indices (-1: unlabelled) or STS-B scores
    idx: list[int]

    def __len__(self) -> int:
        return len(self.idx)


def read_split(task: GlueTask, path: str | Path) -> SplitRows:
    """Every row of one split in file order (the hub keeps the TSV's order, `idx` = 0, 1, ...).

    The file's shape (columns and their types) is checked before any row is read."""
    try:
        check_parquet_shape(path, required_columns(task))
    except ShapeError as exc:
        raise GlueFileError(f"{exc} ({task.key}, split {Path(path).name})") from None
    check_label_names(task, path)
    table = pq.read_table(path, columns=[*task.text_columns, "label", "idx"])
    texts = tuple(table.column(name).to_pylist() for name in task.text_columns)
    for name, column in zip(task.text_columns, texts):
        missing = [i for i, text in enumerate(column) if text is None]
        if missing:
            raise GlueFileError(f"{path}: column {name!r} is empty (null) in {len(missing)} row(s), "
                                f"first at row {missing[0]}")
    return SplitRows(texts, table.column("label").to_pylist(), table.column("idx").to_pylist())
