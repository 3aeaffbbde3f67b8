"""The nine GLUE tasks: where each sits on the hub, which columns are its inputs, how its labels are written.

The hub's `nyu-mll/glue` repository holds `<task>/<split>-00000-of-00001.parquet` per task
(`label` is a class index, -1 for the unlabelled test splits; STS-B's is its float score). The
recipe (`examples/roberta/preprocess_GLUE_tasks.sh`) reads the original GLUE TSVs instead, whose
label column holds an integer for CoLA, SST-2, MRPC and QQP (and WNLI), the class name for MNLI,
QNLI and RTE, and the score for STS-B: `label_kind` says which, and `label_names` are the hub's
class names in index order (checked against the file's own metadata when it has them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LabelKind = Literal["integer", "name", "score"]


@dataclass(frozen=True)
class GlueTask:
    key: str  # the hub's folder and the partition key: "cola"
    name: str  # the recipe's task name, and the output folder `<name>-bin`: "CoLA"
    text_columns: tuple[str, ...]  # the hub columns that become input0 (and input1)
    label_kind: LabelKind
    label_names: tuple[str, ...]  # the hub's class names, in index order (none for a score)
    splits: tuple[tuple[str, str], ...]  # (hub split, fairseq split), in the recipe's order

    def hub_path(self, hub_split: str) -> str:
        return f"{self.key}/{hub_split}-00000-of-00001.parquet"

    @property
    def hub_splits(self) -> tuple[str, ...]:
        return tuple(hub for hub, _ in self.splits)

    def fairseq_split(self, hub_split: str) -> str:
        return dict(self.splits)[hub_split]

    @property
    def bin_dir_name(self) -> str:
        return f"{self.name}-bin"

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f"input{i}" for i in range(len(self.text_columns)))

    @property
    def is_regression(self) -> bool:
        return self.label_kind == "score"


def labelled(fairseq_split: str) -> bool:
    """The recipe writes labels for train and valid splits only: test splits have none."""
    return not fairseq_split.startswith("test")


_PLAIN = (("train", "train"), ("validation", "valid"), ("test", "test"))
_NLI = ("entailment", "not_entailment")

TASKS: dict[str, GlueTask] = {task.key: task for task in (
    GlueTask("cola", "CoLA", ("sentence",), "integer", ("unacceptable", "acceptable"), _PLAIN),
    GlueTask("sst2", "SST-2", ("sentence",), "integer", ("negative", "positive"), _PLAIN),
    GlueTask("mrpc", "MRPC", ("sentence1", "sentence2"), "integer", ("not_equivalent", "equivalent"), _PLAIN),
    GlueTask("stsb", "STS-B", ("sentence1", "sentence2"), "score", (), _PLAIN),
    GlueTask("qqp", "QQP", ("question1", "question2"), "integer", ("not_duplicate", "duplicate"), _PLAIN),
    GlueTask("mnli", "MNLI", ("premise", "hypothesis"), "name", ("entailment", "neutral", "contradiction"),
             (("train", "train"), ("validation_matched", "valid"), ("validation_mismatched", "valid1"),
              ("test_matched", "test"), ("test_mismatched", "test1"))),
    GlueTask("qnli", "QNLI", ("question", "sentence"), "name", _NLI, _PLAIN),
    GlueTask("rte", "RTE", ("sentence1", "sentence2"), "name", _NLI, _PLAIN),
    # Not in the recipe; its TSVs have RTE's columns, and its label is written as an integer.
    GlueTask("wnli", "WNLI", ("sentence1", "sentence2"), "integer", ("not_entailment", "entailment"), _PLAIN),
)}
PARTITION_KEYS = list(TASKS)
