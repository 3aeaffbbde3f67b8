"""Generate a GLUE mirror laid out like the hub's `nyu-mll/glue`: `<task>/<split>-00000-of-00001.parquet`.

Each file has the hub's columns and types (text columns, `label` int64 or STS-B's float32,
`idx` int32) and its `huggingface` metadata naming the label classes. The text is English-like
(`WebLikeText`, harvested offline), shaped per task (SST-2's tokenized lower-case phrases, QQP's
questions, ...), plus rows with every case the recipe and the encoder must agree on: spaces to
strip, an empty field, Unicode, a literal `<|endoftext|>`, characters Python's tables call
unassigned, separators that are line breaks to `str.splitlines` but not to a text file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Callable

import pyarrow as pa

from mm_assets.datasets.glue.tasks import TASKS, GlueTask
from mm_assets.formats.parquet import write_parquet
from mm_assets.samples.owt.web_text import WebLikeText

EDGE_TEXTS = [
    "  Leading and trailing spaces are stripped.  ",
    "",
    "Grüße aus Köln, 東京都 and “quotes” — with an em-dash… and emoji 👍🏽.",
    "A literal <|endoftext|> inside a sentence.",
    "Unassigned in Python's tables: \u0558's a\u0c5cb and \U0001fae9.",
    "Separators a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g stay inside the line.",
    "it 's a charming and often affecting journey . ",
    "Numbers 3.14159, 1,000,000 and 2nd place; URL https://example.com/a?b=c.",
]


def _hub_metadata(task: GlueTask) -> bytes:
    features = {column: {"dtype": "string", "_type": "Value"} for column in task.text_columns}
    features["label"] = ({"dtype": "float32", "_type": "Value"} if task.is_regression
                         else {"names": list(task.label_names), "_type": "ClassLabel"})
    features["idx"] = {"dtype": "int32", "_type": "Value"}
    return json.dumps({"info": {"features": features}}).encode()


def _shaped(task: GlueTask, text: str, column: int) -> str:
    if task.key == "sst2":
        words = text.lower().replace(",", " ,").replace(".", " .").replace("'s", " 's").split()
        return " ".join(words[: max(3, len(words) // 2)]) + " "
    if task.key == "qqp" or (task.key == "qnli" and column == 0):
        return "How does " + text.rstrip(".!?").lower() + "?"
    return text


def _label(task: GlueTask, rng: random.Random):
    if task.is_regression:
        return round(rng.randrange(0, 26) * 0.2, 1)  # scores like the originals: 0.0 .. 5.0
    return rng.randrange(len(task.label_names))


def task_table(task: GlueTask, hub_split: str, rows: int, sentence: Callable[[], str], rng: random.Random) -> pa.Table:
    columns: dict[str, list] = {name: [] for name in task.text_columns}
    labels: list = []
    test = hub_split.startswith("test")
    for i in range(rows):
        for number, name in enumerate(task.text_columns):
            source = EDGE_TEXTS[(i + number) % len(EDGE_TEXTS)] if i < len(EDGE_TEXTS) else sentence()
            columns[name].append(_shaped(task, source, number))
        labels.append(-1 if test and not task.is_regression else
                      (-1.0 if test else _label(task, rng)))
    label_type = pa.float32() if task.is_regression else pa.int64()
    arrays = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    arrays["label"] = pa.array(labels, label_type)
    arrays["idx"] = pa.array(range(rows), pa.int32())
    table = pa.table(arrays)
    return table.replace_schema_metadata({b"huggingface": _hub_metadata(task)})


def generate_mirror(root: str | Path, tasks: list[str] | None = None, *, rows: int = 40,
                    seed: int = 0, sentence: Callable[[], str] | None = None) -> list[Path]:
    """Write every split of each task (train 2x `rows`, others `rows`); return the files.

    `sentence` makes one sentence per call (default: `WebLikeText`, whose offline harvest takes
    a few seconds)."""
    root = Path(root)
    sentence = sentence or WebLikeText(seed).sentence
    written = []
    for key in tasks or list(TASKS):
        task = TASKS[key]
        rng = random.Random(f"{seed}-{key}")
        for hub_split in task.hub_splits:
            count = 2 * rows if hub_split == "train" else rows
            path = root / task.hub_path(hub_split)
            write_parquet(task_table(task, hub_split, count, sentence, rng), path)
            written.append(path)
    return written
