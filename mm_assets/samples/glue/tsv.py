"""The original GLUE TSVs (as `download_glue_data.py` laid them out), written from the hub's rows.

This is what fairseq's recipe reads, so the reference run of the recipe and the pipeline see the
same text. Each task's files keep the original columns in the original order and header (CoLA's
train and dev files have none); the columns that the hub does not keep (ids, genres, parses) hold
placeholders, since the recipe never reads them. Text fields are written as they are, so a field
with a tab or a line break cannot be written (`fairseq_data.input_lines` refuses it too).
"""

from __future__ import annotations

from pathlib import Path

from mm_assets.datasets.glue.fairseq_data import input_lines
from mm_assets.datasets.glue.hub_files import SplitRows, read_split
from mm_assets.datasets.glue.labels import label_text
from mm_assets.datasets.glue.tasks import GlueTask

# hub split -> the original file name
TSV_NAMES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv",
             "validation_matched": "dev_matched.tsv", "validation_mismatched": "dev_mismatched.tsv",
             "test_matched": "test_matched.tsv", "test_mismatched": "test_mismatched.tsv"}
_MNLI_HEAD = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
              "sentence1_parse", "sentence2_parse", "sentence1", "sentence2"]


def _header_and_row(task: GlueTask, test: bool, dev: bool, i: int, texts: list[str], label: str):
    """(header or None, the row's fields) in the original layout of `task`."""
    a = texts[0]
    b = texts[1] if len(texts) > 1 else ""
    key = task.key
    if key == "cola":
        if test:
            return ["index", "sentence"], [str(i), a]
        return None, ["glue", label, "" if label == "1" else "*", a]
    if key == "sst2":
        return (["index", "sentence"], [str(i), a]) if test else (["sentence", "label"], [a, label])
    if key == "mrpc":
        ids = [str(2 * i + 1000), str(2 * i + 1001)]
        if test:
            return ["index", "#1 ID", "#2 ID", "#1 String", "#2 String"], [str(i), *ids, a, b]
        return ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"], [label, *ids, a, b]
    if key == "stsb":
        head = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"]
        row = [str(i), "main-captions", "MSRvid", "2012test", str(i), "none", "none", a, b]
        return (head, row) if test else (head + ["score"], row + [label])
    if key == "qqp":
        if test:
            return ["id", "question1", "question2"], [str(i), a, b]
        return (["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
                [str(i), str(2 * i + 1), str(2 * i + 2), a, b, label])
    if key == "mnli":
        row = [str(i), str(i), f"{i}n", "fiction", "( x )", "( y )", "(ROOT x)", "(ROOT y)", a, b]
        if test:
            return _MNLI_HEAD, row
        if dev:
            return _MNLI_HEAD + ["label1", "label2", "label3", "label4", "label5", "gold_label"], row + [label] * 6
        return _MNLI_HEAD + ["label1", "gold_label"], row + [label, label]
    if key == "qnli":
        head = ["index", "question", "sentence"]
        return (head, [str(i), a, b]) if test else (head + ["label"], [str(i), a, b, label])
    if key in ("rte", "wnli"):
        head = ["index", "sentence1", "sentence2"]
        return (head, [str(i), a, b]) if test else (head + ["label"], [str(i), a, b, label])
    raise ValueError(f"no TSV layout for task {key!r}")


def tsv_text(task: GlueTask, hub_split: str, rows: SplitRows) -> str:
    test = hub_split.startswith("test")
    dev = hub_split.startswith("validation")
    for number, column in enumerate(task.text_columns):
        input_lines(task, hub_split, column, rows.texts[number])  # refuses what no TSV field can hold
    lines: list[str] = []
    header = None
    for i in range(len(rows)):
        label = "" if test else label_text(task, rows.labels[i])
        header, fields = _header_and_row(task, test, dev, rows.idx[i], [t[i] for t in rows.texts], label)
        lines.append("\t".join(fields))
    if header is None and len(rows) == 0:
        header, _ = _header_and_row(task, test, dev, 0, [""] * len(task.text_columns), "0")
    head = [] if header is None else ["\t".join(header)]
    return "".join(line + "\n" for line in head + lines)


def write_task_tsvs(task: GlueTask, raw_files: dict[str, Path], out_dir: Path) -> Path:
    """Write `out_dir/<TASK>/{train,dev,test}.tsv` (MNLI: dev_matched, ...); return the task folder."""
    folder = out_dir / task.name
    folder.mkdir(parents=True, exist_ok=True)
    for hub_split in task.hub_splits:
        text = tsv_text(task, hub_split, read_split(task, raw_files[hub_split]))
        (folder / TSV_NAMES[hub_split]).write_text(text, encoding="utf-8")
    return folder
