"""ImageNet from `imagenet/index.parquet` and its `ImageFolder` files, through the thesis's transform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from torch.utils.data import Dataset

from mm_assets.common.missing import MissingInputError
from mm_assets.images.transforms import SeedTransform, seed_transform

from .common import PackedStrings, SeededItems
from .decode import decode_and_transform

INDEX = "imagenet/index.parquet"


class ImageNetDataset(SeededItems, Dataset):
    """(image, label) per row of the index's `split`: float32 (3, 224, 224) and the 0-999 label.

    `transform` defaults to the thesis's training transform for `train` (image-only crop scale
    0.08-1.0) and its validation transform for `val`. `reduced_decode=True` lets a JPEG be decoded
    at 1/2, 1/4 or 1/8 scale when the crop is large enough: a little faster, a little less exact
    (see `mm_assets.loaders.decode`).
    """

    def __init__(self, data_root: str | Path, split: str = "train", transform: SeedTransform | None = None,
                 *, seed: int = 0, reduced_decode: bool = False) -> None:
        self.root = Path(data_root)
        if split not in ("train", "val"):
            raise ValueError(f"split {split!r}: expected 'train' or 'val'")
        index = self.root / INDEX
        if not index.is_file():
            raise MissingInputError(index, "imagenet_index")
        table = pq.read_table(index, columns=["split", "path", "label"], filters=[("split", "=", split)])
        self.paths = PackedStrings(table.column("path"))
        self.labels = table.column("label").to_numpy().astype(np.int64)
        self.transform = transform or seed_transform(split)
        self.init_seeding(seed)
        self.reduced_decode = reduced_decode

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        data = (self.root / self.paths[index]).read_bytes()
        image = decode_and_transform(data, self.transform, self.generator(index),
                                     reduced_decode=self.reduced_decode)
        return image, int(self.labels[index])
