"""Label text exactly as the original GLUE TSVs write it, and STS-B's score as the recipe writes it.

The recipe builds the label dictionary from the label column's text, so the text is the
contract: `"1"` for CoLA, SST-2, MRPC, QQP and WNLI, `"entailment"` for MNLI, QNLI and RTE. For
STS-B it writes `awk '{print $1 / 5.0}'` of the score: awk prints a whole number as an integer
and any other with its output format `%.6g`.
"""

from __future__ import annotations

import numpy as np

from .tasks import GlueTask


class GlueLabelError(ValueError):
    pass


def label_text(task: GlueTask, value) -> str:
    """The label of one labelled row as the original TSV holds it."""
    if task.label_kind == "score":
        return score_text(value)
    index = int(value)
    if not 0 <= index < len(task.label_names):
        raise GlueLabelError(f"{task.key}: label {value!r} is not one of 0..{len(task.label_names) - 1}")
    return str(index) if task.label_kind == "integer" else task.label_names[index]


def label_texts(task: GlueTask, hub_split: str, labels: list) -> list[str]:
    """Every label of a labelled split; a bad one names its row (0-based, in the split's file)."""
    texts = []
    for row, value in enumerate(labels):
        try:
            texts.append(label_text(task, value))
        except GlueLabelError as exc:
            raise GlueLabelError(f"{exc} in row {row} (0-based) of the {hub_split} split (a labelled split)") from None
    return texts


def score_text(value) -> str:
    """The hub stores STS-B's TSV score as float32: its shortest decimal is the TSV's number."""
    score = np.float32(value)
    if not np.isfinite(score):
        raise GlueLabelError(f"stsb: score {value!r} is not a number")
    return np.format_float_positional(score, unique=True, trim="-")


def awk_print_number(value: float) -> str:
    """What awk's `print` writes for a number (its OFMT is `%.6g`; whole numbers print as integers)."""
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return "%.6g" % value


def stsb_label_line(score: str) -> str:
    """One line of `label/{train,valid}.label`: the recipe's `awk '{print $1 / 5.0 }'`."""
    return awk_print_number(float(score) / 5.0)
