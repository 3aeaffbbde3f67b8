"""A task's fairseq folder: the recipe's layout, labels, refusals, and the same bytes whatever the
workers. Byte-identity with the recipe itself is test_recipe_exactness.py (e2e)."""

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.glue.fairseq_data import GlueTextError, write_task_dir
from mm_assets.datasets.glue.hub_files import GlueFileError
from mm_assets.datasets.glue.tasks import TASKS
from mm_assets.formats.fairseq_mmap import check_dataset, problems_under
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _raw(mirror, task):
    return {split: mirror / task.hub_path(split) for split in task.hub_splits}


@pytest.fixture(scope="module")
def written(glue_mirror, bpe_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("glue_bin")
    counts = {key: write_task_dir(task, _raw(glue_mirror, task), Gpt2BpeFiles(bpe_dir), out / task.bin_dir_name,
                                  workers=2) for key, task in TASKS.items()}
    return out, counts


def test_layout_is_the_recipes(written, bpe_dir):
    out, counts = written
    mmap = lambda *splits: [f"{s}.{e}" for s in splits for e in ("bin", "idx")]  # noqa: E731
    plain = sorted(["dict.txt", *mmap("test", "train", "valid")])
    assert _files(out / "CoLA-bin") == [f"input0/{f}" for f in plain] + [f"label/{f}" for f in
                                                                        sorted(["dict.txt", *mmap("train", "valid")])]
    mnli = _files(out / "MNLI-bin")
    assert [f for f in mnli if f.startswith("input1/")] == [
        f"input1/{f}" for f in sorted(["dict.txt", *mmap("test", "test1", "train", "valid", "valid1")])]
    assert [f for f in mnli if f.startswith("label/")] == [
        f"label/{f}" for f in sorted(["dict.txt", *mmap("train", "valid", "valid1")])]
    assert [f for f in _files(out / "STS-B-bin") if f.startswith("label/")] == ["label/train.label", "label/valid.label"]
    assert (out / "WNLI-bin" / "input1" / "dict.txt").read_bytes() == (bpe_dir / "dict.txt").read_bytes()
    assert set(counts["mnli"]["splits"]) == {"train", "valid", "valid1", "test", "test1"}


def test_examples_and_labels_match_the_hub_rows(written, glue_mirror):
    out, counts = written
    for key, task in TASKS.items():
        for hub_split in task.hub_splits:
            split = task.fairseq_split(hub_split)
            rows = pq.read_metadata(glue_mirror / task.hub_path(hub_split)).num_rows
            for name in task.inputs:
                assert check_dataset(out / task.bin_dir_name / name / split).count == rows, (key, split)
            if not split.startswith("test") and not task.is_regression:
                labels = check_dataset(out / task.bin_dir_name / "label" / split)
                assert (labels.count, labels.tokens) == (rows, 2 * rows)
    label_dict = (out / "MNLI-bin" / "label" / "dict.txt").read_text().splitlines()
    assert {line.split()[0] for line in label_dict[:3]} == {"entailment", "neutral", "contradiction"}
    assert len(label_dict) == 4 and label_dict[3] == "madeupword0000 0"  # 4 specials + 3 + 1 = 8
    stsb = (out / "STS-B-bin" / "label" / "train.label").read_text().splitlines()
    assert all(0 <= float(line) <= 1 for line in stsb) and len(stsb) == 24


def test_a_cut_bin_or_a_lost_one_is_named_before_any_reader_opens_it(written, tmp_path):
    out, _ = written
    copy = tmp_path / "RTE-bin"
    shutil.copytree(out / "RTE-bin", copy)
    assert problems_under(copy) == []
    bin_path = copy / "input1" / "train.bin"
    bin_path.write_bytes(bin_path.read_bytes()[:-6])
    (copy / "label" / "valid.bin").unlink()
    problems = problems_under(copy)
    assert len(problems) == 2 and "input1/train.bin" in problems[0] and "does not match" in problems[0]
    assert problems[1].endswith("label/valid.bin: missing")


def test_same_bytes_whatever_the_workers_and_blocks(written, glue_mirror, bpe_dir, tmp_path, monkeypatch):
    out, _ = written
    import mm_assets.datasets.glue.fairseq_data as fairseq_data

    monkeypatch.setattr(fairseq_data, "BLOCK_BYTES", 200)
    task = TASKS["mnli"]
    write_task_dir(task, _raw(glue_mirror, task), Gpt2BpeFiles(bpe_dir), tmp_path / "MNLI-bin", workers=1)
    for name in _files(out / "MNLI-bin"):
        assert (tmp_path / "MNLI-bin" / name).read_bytes() == (out / "MNLI-bin" / name).read_bytes(), name


def test_a_rewrite_replaces_the_whole_folder(glue_mirror, bpe_dir, tmp_path):
    task = TASKS["rte"]
    target = tmp_path / "RTE-bin"
    (target / "input0").mkdir(parents=True)
    (target / "input0" / "stale.bin").write_bytes(b"old")
    write_task_dir(task, _raw(glue_mirror, task), Gpt2BpeFiles(bpe_dir), target, workers=2)
    assert not (target / "input0" / "stale.bin").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["RTE-bin"]  # no staging folder left


def _rewrite_column(source, dest, column, row, value):
    table = pq.read_table(source)
    values = table.column(column).to_pylist()
    values[row] = value
    table = table.set_column(table.schema.get_field_index(column), column,
                             pa.array(values, table.schema.field(column).type))
    pq.write_table(table, dest)


@pytest.mark.parametrize("bad", ["a\ttab", "a\nline feed", "a\rcarriage return"])
def test_a_field_no_tsv_line_can_hold_is_refused_naming_it(glue_mirror, bpe_dir, tmp_path, bad):
    task = TASKS["rte"]
    raw = {split: tmp_path / f"{split}.parquet" for split in task.hub_splits}
    for split, path in raw.items():
        shutil.copy(glue_mirror / task.hub_path(split), path)
    _rewrite_column(raw["validation"], raw["validation"], "sentence2", 3, bad)
    with pytest.raises(GlueTextError, match=r"rte validation row 3: sentence2 holds"):
        write_task_dir(task, raw, Gpt2BpeFiles(bpe_dir), tmp_path / "RTE-bin", workers=1)
    assert not (tmp_path / "RTE-bin").exists()


def test_other_label_names_on_the_hub_are_refused(glue_mirror, bpe_dir, tmp_path):
    task = TASKS["qnli"]
    raw = {split: tmp_path / f"{split}.parquet" for split in task.hub_splits}
    for split, path in raw.items():
        table = pq.read_table(glue_mirror / task.hub_path(split))
        meta = table.schema.metadata[b"huggingface"].replace(b'"entailment", "not_entailment"',
                                                             b'"not_entailment", "entailment"')
        pq.write_table(table.replace_schema_metadata({b"huggingface": meta}), path)
    with pytest.raises(GlueFileError, match="the hub names qnli's label classes"):
        write_task_dir(task, raw, Gpt2BpeFiles(bpe_dir), tmp_path / "QNLI-bin", workers=1)
