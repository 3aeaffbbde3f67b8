"""OpenWebText as fixed-length token blocks over the fairseq data directory `owt/fairseq/`.

The blocks are fairseq's own for masked_lm / data2vec 2.0 (`sample_break_mode=none`): the split's
sequences back to back (each ending in `</s>`), cut every `block_size - 1` tokens, `<s>` put in
front of each (`TokenBlockDataset` then `PrependTokenDataset`); with `prepend_bos=False`, cut
every `block_size`. fairseq keeps a shorter last block; here it is dropped unless
`drop_partial=False`, so that every item has the same length.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from mm_assets.text.gpt2_bpe import BOS

from .common import MMapTokens

DATA_DIR = "owt/fairseq"


class TokenBlocks(Dataset):
    def __init__(self, data_root: str | Path, split: str = "train", block_size: int = 512, *,
                 prepend_bos: bool = True, drop_partial: bool = True, data_dir: str = DATA_DIR) -> None:
        self.tokens = MMapTokens(Path(data_root) / data_dir / split)
        self.prepend_bos = prepend_bos
        self.block_size = block_size
        self.body = block_size - 1 if prepend_bos else block_size
        if self.body < 1:
            raise ValueError(f"block_size {block_size} leaves no room for tokens")
        full, rest = divmod(self.tokens.tokens, self.body)
        self.length = full + (1 if rest and not drop_partial else 0)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        if not 0 <= index < self.length:
            raise IndexError(index)
        chunk = self.tokens.flat[index * self.body:(index + 1) * self.body].astype(np.int64)
        if self.prepend_bos:
            chunk = np.concatenate([np.array([BOS], dtype=np.int64), chunk])
        return torch.from_numpy(chunk)
