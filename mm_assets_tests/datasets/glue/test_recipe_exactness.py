"""Every GLUE task, byte for byte against fairseq's own recipe, and through fairseq's own task code.

The hub's rows are written as the original GLUE TSVs; fairseq's `preprocess_GLUE_tasks.sh` (the
script inside the installed package, run by `mm_assets.judge.glue_recipe`) binarizes them; the
pipeline binarizes the parquet files. Then fairseq's `sentence_prediction` task loads every split
of each task and every item must equal the project's `GlueDataset` item.
"""

import json
import subprocess

import numpy as np
import pytest

from mm_assets.datasets.glue.fairseq_data import write_task_dir
from mm_assets.datasets.glue.tasks import TASKS, labelled
from mm_assets.judge import JUDGE_DIR
from mm_assets.judge.glue_recipe import run_glue_recipe
from mm_assets.loaders.glue import GlueDataset
from mm_assets.samples.glue.mirror import generate_mirror
from mm_assets.samples.glue.tsv import write_task_tsvs
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def both(bpe_dir, fairseq_python, tmp_path_factory):
    """(the pipeline's data root, the recipe's output folder) for all nine tasks."""
    root = tmp_path_factory.mktemp("glue_exact")
    mirror = root / "mirror"
    generate_mirror(mirror, rows=30)  # web-like text after the edge-case rows
    data = root / "data"
    for task in TASKS.values():
        raw = {split: mirror / task.hub_path(split) for split in task.hub_splits}
        write_task_tsvs(task, raw, root / "glue_data")
        write_task_dir(task, raw, Gpt2BpeFiles(bpe_dir), data / "glue" / task.bin_dir_name, workers=2)
    run_glue_recipe(root / "glue_data", [task.name for task in TASKS.values()], bpe_dir, root / "recipe",
                    root / "work", workers=2, parallel=2, fairseq_python=fairseq_python)
    return data, root / "recipe"


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.name != "preprocess.log")


@pytest.mark.parametrize("key", list(TASKS))
def test_every_file_is_byte_identical_to_the_recipe(both, key):
    data, recipe = both
    ours, theirs = data / "glue" / TASKS[key].bin_dir_name, recipe / TASKS[key].bin_dir_name
    assert _files(ours) == _files(theirs)
    for name in _files(theirs):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


@pytest.mark.parametrize("key", list(TASKS))
def test_fairseq_sentence_prediction_reads_what_the_loader_reads(both, key, fairseq_python, tmp_path):
    data, _ = both
    task = TASKS[key]
    splits = [task.fairseq_split(s) for s in task.hub_splits]
    out = tmp_path / "dump.json"
    command = [fairseq_python, str(JUDGE_DIR / "check_glue_task.py"), "--dump", str(data / "glue" / task.bin_dir_name),
               "--num-classes", str(1 if task.is_regression else len(task.label_names)), "--splits", *splits,
               "--out", str(out)]
    if task.is_regression:
        command.append("--regression")
    subprocess.run(command, check=True, capture_output=True)
    dump = json.loads(out.read_text())
    for split in splits:
        ours = GlueDataset(data, key, split)
        assert len(dump[split]) == len(ours)
        for ident, tokens, target in dump[split]:
            item = ours[ident]
            assert item["tokens"].tolist() == tokens, (split, ident)
            if labelled(split):
                expected = target[0] if task.is_regression else target
                assert np.isclose(item["target"].item(), expected), (split, ident)
            else:
                assert target is None and "target" not in item
