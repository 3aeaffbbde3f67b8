"""The prepared tables as Hugging Face `datasets.Dataset`s: views over the same files the torch
loaders read, with the thesis's transforms for `Dataset.with_transform` (docs/loading.md).

- `open_dataset(data_root, name, split)`: `pairs` (`pairs/manifest.parquet`), `imagenet`
  (`imagenet/index.parquet`, split `train` or `val`), `cc3m` (`cc3m/subset.parquet`) and
  `glue/<task>` (`glue/<TASK>-bin/`, split `train`, `valid`, `test`, MNLI's `valid1`/`test1`).
  A parquet table is read by `Dataset.from_parquet` (arrow files cached under `cache_dir`,
  by default `<data_root>/hf_datasets_cache`, and rebuilt when the parquet file changes); a GLUE
  task has no table, so its rows come from `GlueDataset`, in memory. Each row gets `index`, its
  position in the view: the number the torch loaders seed an item's draws with.
- `image_transform(data_root, name, split)`: for `with_transform`/`set_transform`; adds
  `pixel_values` (float32 (3, 224, 224)) decoded and transformed by the torch loaders' own code
  (`decode_and_transform`, `seed_transform`), its draws from (seed, epoch, `index`): the same
  tensors as `ImageTextPairs` / `ImageNetDataset` give. For `pairs` it also pads `tokens` to 64
  and adds `padding_mask`, as `ImageTextPairs` does.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
from datasets.table import InMemoryTable

from mm_assets.common.missing import MissingInputError
from mm_assets.datasets.cc3m.paths import shard_image_ref
from mm_assets.images.transforms import SeedTransform, seed_transform

from .common import SeededItems
from .decode import decode_and_transform
from .glue import GlueDataset
from .imagenet import INDEX as IMAGENET_INDEX
from .pairs import MANIFEST, MAX_TOKENS, ImageRefs, pad_tokens

INDEX_COLUMN = "index"
CACHE_DIR = "hf_datasets_cache"
GLUE_PREFIX = "glue/"
# name -> (parquet file under the data root, the asset that writes it, its splits (None: one table))
TABLES = {
    "pairs": (MANIFEST, "pair_manifest", None),
    "imagenet": (IMAGENET_INDEX, "imagenet_index", ("train", "val")),
    "cc3m": ("cc3m/subset.parquet", "cc3m_subset", None),
}
NAMES = (*TABLES, "glue/<task>")


def open_dataset(data_root: str | Path, name: str, split: str | None = None, *,
                 cache_dir: str | Path | None = None) -> datasets.Dataset:
    """The table `name` (one of `NAMES`) as a `datasets.Dataset`, rows in the file's order, plus `index`.

    `split`: ImageNet's `train` (default) or `val`; a GLUE split (default `train`); nothing for
    `pairs` and `cc3m`, which are one table each.
    """
    root = Path(data_root)
    if name.startswith(GLUE_PREFIX):
        return _glue_view(root, name.removeprefix(GLUE_PREFIX), split or "train")
    if name not in TABLES:
        raise ValueError(f"{name!r}: expected one of {', '.join(NAMES)}")
    relative, asset, splits = TABLES[name]
    path = root / relative
    if not path.is_file():
        raise MissingInputError(path, asset)
    filters = None
    if splits:
        split = split or splits[0]
        if split not in splits:
            raise ValueError(f"{name} split {split!r}: expected one of {', '.join(splits)}")
        filters = [("split", "=", split)]
    elif split is not None:
        raise ValueError(f"{name} is one table: no split (got {split!r})")
    dataset = datasets.Dataset.from_parquet(str(path), cache_dir=str(cache_dir or root / CACHE_DIR),
                                            filters=filters)
    return dataset.add_column(INDEX_COLUMN, np.arange(len(dataset), dtype=np.int64))


def _glue_view(root: Path, task: str, split: str) -> datasets.Dataset:
    """`GlueDataset`'s items as rows: `tokens` (`<s>` input0 [`</s>` input1]), `target`, `index`."""
    loader = GlueDataset(root, task, split)
    rows = [loader.tokens(index) for index in range(len(loader))]
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    columns = {INDEX_COLUMN: pa.array(np.arange(len(loader), dtype=np.int64)),
               "tokens": pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values, pa.int64()))}
    features = {INDEX_COLUMN: datasets.Value("int64"), "tokens": datasets.LargeList(datasets.Value("int64"))}
    if loader.targets is not None:
        columns["target"] = pa.array(loader.targets)
        features["target"] = (datasets.Value("float32") if loader.task.is_regression
                              else datasets.ClassLabel(names=loader.label_names))
    info = datasets.DatasetInfo(features=datasets.Features(features))
    return datasets.Dataset(InMemoryTable(pa.table(columns)), info=info, split=split)


class ViewTransform(SeededItems):
    """Decodes and transforms the images of a batch of rows (`Dataset.with_transform` calls it).

    Call `set_epoch` before each epoch, as on the torch loaders; the epoch is seen by DataLoader
    workers, persistent ones included.
    """

    def __init__(self, data_root: str | Path, name: str, transform: SeedTransform, *, seed: int = 0,
                 reduced_decode: bool = False) -> None:
        self.name = name
        self.images = ImageRefs(data_root)
        self.transform = transform
        self.reduced_decode = reduced_decode
        self.init_seeding(seed)

    def _refs(self, batch: dict) -> list[str]:
        if self.name == "imagenet":
            return batch["path"]
        if self.name == "cc3m":
            return [shard_image_ref(shard, key) for shard, key in zip(batch["shard"], batch["key"])]
        return batch["image"]

    def __call__(self, batch: dict) -> dict:
        missing = [column for column in (INDEX_COLUMN, *_IMAGE_COLUMNS[self.name]) if column not in batch]
        if missing:
            raise KeyError(f"the {self.name} transform needs the column(s) {', '.join(missing)}: "
                           "open the view with open_dataset and keep them in with_transform(columns=...)")
        out = dict(batch)
        out["pixel_values"] = [
            decode_and_transform(self.images.read(ref), self.transform, self.generator(int(index)),
                                 reduced_decode=self.reduced_decode)
            for ref, index in zip(self._refs(batch), batch[INDEX_COLUMN])]
        if self.name == "pairs":
            padded = [pad_tokens(np.asarray(row), MAX_TOKENS) for row in batch["tokens"]]
            out["tokens"] = [tokens for tokens, _ in padded]
            out["padding_mask"] = [mask for _, mask in padded]
        return out


_IMAGE_COLUMNS = {"pairs": ("image", "tokens"), "imagenet": ("path",), "cc3m": ("shard", "key")}


def image_transform(data_root: str | Path, name: str, split: str = "train", *, seed: int = 0,
                    reduced_decode: bool = False) -> ViewTransform:
    """The thesis's training (`train`) or validation (`val`) transform for the view `name`
    (`pairs`, `cc3m`: the image-text crop scale; `imagenet`: the image-only one)."""
    if name not in _IMAGE_COLUMNS:
        raise ValueError(f"{name!r} has no images: expected one of {', '.join(_IMAGE_COLUMNS)}")
    return ViewTransform(data_root, name, seed_transform(split, image_text=name != "imagenet"), seed=seed,
                         reduced_decode=reduced_decode)
