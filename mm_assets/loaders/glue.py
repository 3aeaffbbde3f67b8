"""A GLUE task from `glue/<TASK>-bin/`, laid out as fairseq's `sentence_prediction` task feeds RoBERTa.

An item's tokens are `<s>` input0 (which ends in `</s>`), then for a sentence pair `</s>` input1
(ending in `</s>`): `init_token` 0 and `separator_token` 2, as the recipe's fine-tuning configs set
them. The target is the label's class (its index in `label/dict.txt` less the 4 specials: class 0
is the most frequent training label, as in fairseq) or, for STS-B, the score / 5 from
`label/<split>.label`. Test splits have no target. `collate_glue` pads a batch with `<pad>`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from mm_assets.common.missing import MissingInputError
from mm_assets.datasets.glue.tasks import TASKS, labelled
from mm_assets.formats.fairseq_dict import EOS, PAD, SPECIALS
from mm_assets.text.gpt2_bpe import BOS

from .common import MMapTokens

GLUE_DIR = "glue"


class GlueDataset(Dataset):
    def __init__(self, data_root: str | Path, task: str, split: str = "train", *,
                 init_token: int = BOS, separator_token: int = EOS, truncate_to: int | None = None) -> None:
        if task not in TASKS:
            raise ValueError(f"task {task!r}: expected one of {', '.join(TASKS)}")
        self.task = TASKS[task]
        folder = Path(data_root) / GLUE_DIR / self.task.bin_dir_name
        if not folder.is_dir():
            raise MissingInputError(folder, "glue_fairseq_data", task)
        self.inputs = [MMapTokens(folder / name / split) for name in self.task.inputs]
        if len({len(part) for part in self.inputs}) != 1:
            raise ValueError(f"{folder}: the inputs of {split} hold different numbers of examples")
        self.init_token, self.separator_token, self.truncate_to = init_token, separator_token, truncate_to
        self.targets: np.ndarray | None = None
        self.label_names: list[str] = []
        if labelled(split):
            self.targets = self._targets(folder / "label", split)

    def _targets(self, folder: Path, split: str) -> np.ndarray:
        if self.task.is_regression:
            lines = (folder / f"{split}.label").read_text(encoding="utf-8").splitlines()
            return np.asarray([float(line) for line in lines], dtype=np.float32)
        symbols = [line.split(" ")[0] for line in (folder / "dict.txt").read_text(encoding="utf-8").splitlines()]
        self.label_names = [s for s in symbols if not s.startswith("madeupword")]
        labels = MMapTokens(folder / split)
        return np.asarray([int(labels[i][0]) - len(SPECIALS) for i in range(len(labels))], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.inputs[0])

    def tokens(self, index: int) -> np.ndarray:
        parts = [np.asarray([self.init_token]), self.inputs[0][index]]
        if len(self.inputs) > 1:
            parts += [np.asarray([self.separator_token]), self.inputs[1][index]]
        tokens = np.concatenate(parts).astype(np.int64)
        return tokens[: self.truncate_to] if self.truncate_to else tokens

    def __getitem__(self, index: int) -> dict:
        item = {"tokens": torch.from_numpy(self.tokens(index)), "index": index}
        if self.targets is not None:
            item["target"] = torch.tensor(self.targets[index])
        return item


def collate_glue(items: list[dict]) -> dict:
    """Right-pad `tokens` with `<pad>` (1); stack the rest."""
    longest = max(len(item["tokens"]) for item in items)
    tokens = torch.full((len(items), longest), PAD, dtype=torch.int64)
    for row, item in enumerate(items):
        tokens[row, : len(item["tokens"])] = item["tokens"]
    batch = {"tokens": tokens, "lengths": torch.tensor([len(item["tokens"]) for item in items]),
             "index": torch.tensor([item["index"] for item in items])}
    if "target" in items[0]:
        batch["target"] = torch.stack([item["target"] for item in items])
    return batch
