"""Label text as the GLUE TSVs write it, and STS-B's score as the recipe's awk prints it (checked
against this machine's awk)."""

import shutil
import subprocess

import numpy as np
import pytest

from mm_assets.datasets.glue.labels import GlueLabelError, label_text, label_texts, score_text, stsb_label_line
from mm_assets.datasets.glue.tasks import TASKS


def test_label_text_per_task():
    assert [label_text(TASKS[key], 1) for key in ("cola", "sst2", "mrpc", "qqp", "wnli")] == ["1"] * 5
    assert [label_text(TASKS["mnli"], i) for i in range(3)] == ["entailment", "neutral", "contradiction"]
    assert label_text(TASKS["qnli"], 1) == label_text(TASKS["rte"], 1) == "not_entailment"
    with pytest.raises(GlueLabelError, match="label -1"):
        label_text(TASKS["rte"], -1)


def test_scores_come_back_as_the_tsv_numbers():
    assert [score_text(np.float32(v)) for v in (5.0, 3.8, 0.0, 1.333, 2.75, 4.4)] == \
        ["5", "3.8", "0", "1.333", "2.75", "4.4"]


@pytest.mark.skipif(shutil.which("awk") is None, reason="no awk on this machine")
def test_stsb_lines_equal_awk_print_of_score_over_five():
    scores = [f"{i / 1000:.3f}" for i in range(0, 5001, 7)] + ["5.000", "0.000", "1.333", "3.8", "2.4", "4.75"]
    scores += [score_text(np.float32(v)) for v in np.random.default_rng(0).uniform(0, 5, 300)]
    awk = subprocess.run(["awk", "{print $1 / 5.0 }"], input="".join(s + "\n" for s in scores),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert [stsb_label_line(s) for s in scores] == awk


def test_a_label_out_of_range_names_its_row_and_split():
    with pytest.raises(GlueLabelError) as err:
        label_texts(TASKS["cola"], "train", [0, 1, 1, 7, 0])
    assert str(err.value) == "cola: label 7 is not one of 0..1 in row 3 (0-based) of the train split (a labelled split)"
    assert label_texts(TASKS["mnli"], "validation_matched", [2, 0]) == ["contradiction", "entailment"]
