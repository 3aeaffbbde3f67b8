"""Image-text pairs from `pairs/manifest.parquet`: the image through the image-text transform, the
caption's tokens padded to 64 with a mask.

An `image` is a path relative to `$MM_DATA_ROOT` (COCO and VG folders) or a reference
`cc3m/images/<shard>.tar#<key>` into a webdataset shard. The shards' member offsets are read once,
when the dataset is made, so an item is one positioned read (`os.pread`) of the image's bytes.
`tokens` are `<s>` ... `</s>` (at most 64); an item has them as int64, right-padded with `<pad>`
(1), and `padding_mask` True at the padding (fairseq's convention).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from torch.utils.data import Dataset

from mm_assets.common.missing import MissingInputError
from mm_assets.datasets.pairs.table import SOURCES
from mm_assets.formats.webdataset import member_offsets, split_image_ref
from mm_assets.images.transforms import SeedTransform, seed_transform
from mm_assets.text.gpt2_bpe import PAD

from .common import PackedStrings, SeededItems
from .decode import decode_and_transform

MANIFEST = "pairs/manifest.parquet"
MAX_TOKENS = 64


class ManifestError(ValueError):
    pass


class ImageTextPairs(SeededItems, Dataset):
    """dict(image, tokens, padding_mask, source, image_id, index) per row of the manifest.

    `source` is the position of the row's source in `SOURCES`. `transform` defaults to the thesis's
    training transform with the image-text crop scale (0.6, 1.0) (`split="val"`: validation).
    """

    def __init__(self, data_root: str | Path, manifest: str | Path = MANIFEST, *, split: str = "train",
                 transform: SeedTransform | None = None, max_tokens: int = MAX_TOKENS, seed: int = 0,
                 reduced_decode: bool = False, workers: int = 8) -> None:
        self.root = Path(data_root)
        path = self.root / manifest
        if not path.is_file():
            raise MissingInputError(path, "pair_manifest")
        table = pq.read_table(path, columns=["source", "image_id", "image", "tokens", "n_tokens"])
        self.images = PackedStrings(table.column("image"))
        self.image_ids = table.column("image_id").to_numpy().astype(np.int64)
        self.sources = self._source_codes(table.column("source"), path)
        tokens = table.column("tokens").combine_chunks()
        lengths = pc.list_value_length(tokens).to_numpy(zero_copy_only=False)
        self.token_values = tokens.flatten().to_numpy(zero_copy_only=False).astype(np.uint16)
        self.token_offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        if not np.array_equal(lengths, table.column("n_tokens").to_numpy(zero_copy_only=False)):
            raise ManifestError(f"{path}: n_tokens disagrees with the length of tokens")
        too_long = np.flatnonzero(lengths > max_tokens)
        if too_long.size:
            raise ManifestError(f"{path}: {too_long.size} row(s) have more than {max_tokens} tokens, "
                                f"first row {too_long[0]} with {lengths[too_long[0]]}")
        self.max_tokens = max_tokens
        self.offsets, self.sizes = self._locate_members(table.column("image"), workers)
        self.transform = transform or seed_transform(split, image_text=True)
        self.init_seeding(seed)
        self.reduced_decode = reduced_decode

    @staticmethod
    def _source_codes(column: pa.ChunkedArray, path: Path) -> np.ndarray:
        values = column.combine_chunks().dictionary_encode()
        names = values.dictionary.to_pylist()
        unknown = sorted(set(names) - set(SOURCES))
        if unknown:
            raise ManifestError(f"{path}: unknown source(s) {unknown}; expected {list(SOURCES)}")
        lookup = np.array([SOURCES.index(name) for name in names], dtype=np.int8)
        return lookup[values.indices.to_numpy(zero_copy_only=False)]

    def _locate_members(self, column: pa.ChunkedArray, workers: int) -> tuple[np.ndarray, np.ndarray]:
        """Byte offset and size of each shard image (-1 for an image file of its own)."""
        offsets = np.full(len(column), -1, dtype=np.int64)
        sizes = np.full(len(column), -1, dtype=np.int64)
        rows = np.flatnonzero(pc.match_substring(column, "#").to_numpy(zero_copy_only=False))
        if not rows.size:
            return offsets, sizes
        parts = pc.split_pattern(column.take(pa.array(rows)), "#", max_splits=1, reverse=True)
        shards = pc.list_element(parts, 0).to_numpy(zero_copy_only=False)
        keys = pc.list_element(parts, 1).to_numpy(zero_copy_only=False)
        wanted = sorted(set(shards))
        with ThreadPoolExecutor(max(1, workers)) as pool:
            found = dict(zip(wanted, pool.map(lambda shard: member_offsets(self.root / shard), wanted)))
        for row, shard, key in zip(rows, shards, keys):
            member = found[shard].get(key)
            if member is None:
                raise ManifestError(f"{self.root / shard}: no image for key {key} (manifest row {row})")
            _, offsets[row], sizes[row] = member
        return offsets, sizes

    def __len__(self) -> int:
        return len(self.images)

    def image_bytes(self, index: int) -> bytes:
        ref = self.images[index]
        if self.offsets[index] < 0:
            return (self.root / ref).read_bytes()
        shard, _ = split_image_ref(ref)
        return read_range(self.root / shard, int(self.offsets[index]), int(self.sizes[index]))

    def token_row(self, index: int) -> np.ndarray:
        return self.token_values[self.token_offsets[index]:self.token_offsets[index + 1]]

    def __getitem__(self, index: int) -> dict:
        image = decode_and_transform(self.image_bytes(index), self.transform, self.generator(index),
                                     reduced_decode=self.reduced_decode)
        tokens, padding_mask = pad_tokens(self.token_row(index), self.max_tokens)
        return {"image": image, "tokens": tokens, "padding_mask": padding_mask,
                "source": int(self.sources[index]), "image_id": int(self.image_ids[index]), "index": index}


def pad_tokens(row: np.ndarray, max_tokens: int = MAX_TOKENS) -> tuple[torch.Tensor, torch.Tensor]:
    """A caption's tokens as int64 right-padded with `<pad>` to `max_tokens`, and the mask that is
    True at the padding."""
    tokens = torch.full((max_tokens,), PAD, dtype=torch.int64)
    tokens[: len(row)] = torch.from_numpy(np.asarray(row, dtype=np.int64))
    return tokens, torch.arange(max_tokens) >= len(row)


def read_range(path: Path, offset: int, size: int) -> bytes:
    """`size` bytes at `offset` of a file, in one positioned read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, size, offset)
    finally:
        os.close(fd)


class ImageRefs:
    """The bytes of an image named as the pairs tables name it (a path relative to the data root, or
    `<shard>.tar#<key>`), a shard's member offsets read on its first use: for readers that meet
    references one at a time instead of a whole table up front."""

    def __init__(self, data_root: str | Path) -> None:
        self.root = Path(data_root)
        self._members: dict[str, dict[str, tuple[str, int, int]]] = {}

    def read(self, ref: str) -> bytes:
        if "#" not in ref:
            return (self.root / ref).read_bytes()
        shard, key = split_image_ref(ref)
        if shard not in self._members:
            self._members[shard] = member_offsets(self.root / shard)
        member = self._members[shard].get(key)
        if member is None:
            raise ManifestError(f"{self.root / shard}: no image for key {key}")
        _, offset, size = member
        return read_range(self.root / shard, offset, size)
