"""One GLUE task -> `<TASK>-bin/`, byte for byte what `preprocess_GLUE_tasks.sh` writes from the same text.

The recipe cuts each input column out of the TSV, encodes each line stripped with fairseq's GPT-2
encoder (`--keep-empty`), and binarizes it with `fairseq-preprocess --only-source --srcdict
dict.txt` into `input0/` (and `input1/`): `dict.txt` and `{train,valid,test}.{bin,idx}`, MNLI's
mismatched splits as `valid1`/`test1`. Labels of the train and valid splits go through
`fairseq-preprocess` without `--srcdict` into `label/` (a dictionary built from the train labels);
STS-B's scores become `label/{train,valid}.label` instead, each divided by 5 as awk prints it.
Test splits have no labels. `preprocess.log`, which fairseq also writes there, is a log, not data,
and is not written.

The text of a field must fit on one TSV line: a tab, line feed or carriage return in it would
change the TSV the recipe reads, so such a field is refused with the task, split and row named.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from mm_assets.common.atomic import AtomicGroup, fsync_dir
from mm_assets.common.parallel import ordered_map
from mm_assets.formats.fairseq_dict import FairseqDictionary
from mm_assets.formats.fairseq_mmap import MMapWriter
from mm_assets.text.encode import FairseqGpt2Encoder
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles

from .hub_files import SplitRows, read_split
from .labels import label_texts, stsb_label_line
from .tasks import GlueTask, labelled

BLOCK_BYTES = 1 << 20
NOT_ON_ONE_TSV_LINE = ("\t", "\n", "\r")


class GlueTextError(ValueError):
    pass


def input_lines(task: GlueTask, hub_split: str, column: str, texts: list[str]) -> list[str]:
    """Each field as the recipe's encoder sees its line: stripped; one that cannot be a TSV field refused."""
    lines = []
    for row, text in enumerate(texts):
        bad = next((c for c in NOT_ON_ONE_TSV_LINE if c in text), None)
        if bad is not None:
            raise GlueTextError(
                f"{task.key} {hub_split} row {row}: {column} holds {bad!r}, which the GLUE TSV the "
                f"recipe reads cannot hold in a field: {text[:80]!r}")
        lines.append(text.strip())
    return lines


def _blocks(lines: list[str], block_bytes: int) -> Iterator[bytes]:
    block: list[bytes] = []
    size = 0
    for line in lines:
        data = line.encode("utf-8") + b"\n"
        block.append(data)
        size += len(data)
        if size >= block_bytes:
            yield b"".join(block)
            block, size = [], 0
    if block:
        yield b"".join(block)


def encode_lines(encoder: FairseqGpt2Encoder, lines: list[str], *, workers: int,
                 block_bytes: int = BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray, int]:
    """fairseq indices of every line with `</s>` after each, the size of each, and `<unk>`s."""
    tokens, sizes, unk = [], [], 0
    for block_tokens, block_sizes, counts in ordered_map(encoder.encode_block, _blocks(lines, block_bytes),
                                                         workers=workers):
        tokens.append(block_tokens)
        sizes.append(block_sizes)
        unk += counts["unk"]
    if not tokens:
        return np.zeros(0, np.uint16), np.zeros(0, np.int32), 0
    return np.concatenate(tokens), np.concatenate(sizes), unk


def _write_mmap(prefix: Path, group: AtomicGroup, tokens: np.ndarray, sizes: np.ndarray) -> None:
    writer = MMapWriter(prefix, group)
    writer.add_block(tokens, sizes)
    writer.finish()


def write_task_dir(
    task: GlueTask,
    raw_files: dict[str, Path],
    bpe: Gpt2BpeFiles,
    out_dir: Path,
    *,
    workers: int,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Write `out_dir` (`<TASK>-bin`) from the task's hub files; it replaces any earlier one whole.

    Returns counts: per fairseq split its examples, tokens per input, `<unk>`s and label counts.
    """
    encoder = FairseqGpt2Encoder(bpe)
    rows: dict[str, SplitRows] = {hub: read_split(task, raw_files[hub]) for hub in task.hub_splits}
    dict_bytes = bpe.dict_txt.read_bytes()
    counts: dict = {"splits": {}}
    staging = out_dir.parent / f".tmp-{out_dir.name}.{uuid.uuid4().hex[:8]}"
    try:
        with AtomicGroup() as group:
            for number, column in enumerate(task.text_columns):
                folder = staging / f"input{number}"
                group.path_for(folder / "dict.txt").write_bytes(dict_bytes)
                for hub_split in task.hub_splits:
                    split = task.fairseq_split(hub_split)
                    lines = input_lines(task, hub_split, column, rows[hub_split].texts[number])
                    tokens, sizes, unk = encode_lines(encoder, lines, workers=workers)
                    _write_mmap(folder / split, group, tokens, sizes)
                    entry = counts["splits"].setdefault(split, {"examples": len(lines)})
                    entry[f"input{number}_tokens"] = int(tokens.size)
                    entry["unk_tokens"] = entry.get("unk_tokens", 0) + unk
                    if log:
                        log(f"{task.name} {split} input{number}: {len(lines):,} lines, {tokens.size:,} tokens")
            _write_labels(task, rows, staging / "label", group, counts)
        _replace_dir(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _write_labels(task: GlueTask, rows: dict[str, SplitRows], folder: Path, group: AtomicGroup,
                  counts: dict) -> None:
    texts = {hub: label_texts(task, hub, rows[hub].labels)
             for hub in task.hub_splits if labelled(task.fairseq_split(hub))}
    for hub, labels in texts.items():
        counts["splits"][task.fairseq_split(hub)]["labels"] = dict(sorted(Counter(labels).items()))
    if task.is_regression:
        for hub, labels in texts.items():
            lines = "".join(stsb_label_line(score) + "\n" for score in labels)
            group.path_for(folder / f"{task.fairseq_split(hub)}.label").write_text(lines, encoding="utf-8")
        return
    dictionary = FairseqDictionary.build(texts["train"])
    group.path_for(folder / "dict.txt").write_bytes(dictionary.dict_txt())
    counts["label_dict_symbols"] = len(dictionary)
    for hub, labels in texts.items():
        indices = np.asarray([dictionary.encode_line(text) for text in labels], dtype=np.uint16).reshape(-1)
        sizes = np.full(len(labels), 2, dtype=np.int32)
        _write_mmap(folder / task.fairseq_split(hub), group, indices, sizes)


def _replace_dir(staging: Path, target: Path) -> None:
    """Put the complete `staging` folder at `target`; an earlier `target` is removed after."""
    old = target.parent / f".old-{target.name}.{uuid.uuid4().hex[:8]}"
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def remove_stale_staging(out_dir: Path) -> int:
    """Folders a killed run left beside `out_dir` (call under the output's lock)."""
    removed = 0
    if out_dir.parent.is_dir():
        for prefix in (".tmp-", ".old-"):
            for leftover in out_dir.parent.glob(f"{prefix}{out_dir.name}.*"):
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(leftover)
                    removed += 1
    return removed
