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

    `source` is the position of the row's source in `SOURCES`. `transform` defaults to the seed's
    training transform with the image-text crop scale (0.6, 1.0) (`split="val"`: validation).
    """

    def __init__(self, data_root: str | Path, manifest: str | Path = MANIFEST, *, split: str = "train",
                 transform: SeedTransform | None = None, max_tokens: int = MAX_TOKENS, seed: int = 0,
                 reduced_decode: bool = False, workers: int = 8) -> None:
        self.root = Path(data_root)
        path = self.root / manifest
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no pair manifest; materialize pair_manifest")
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
        fd = os.open(self.root / shard, os.O_RDONLY)
        try:
            return os.pread(fd, int(self.sizes[index]), int(self.offsets[index]))
        finally:
            os.close(fd)

    def token_row(self, index: int) -> np.ndarray:
        return self.token_values[self.token_offsets[index]:self.token_offsets[index + 1]]

    def __getitem__(self, index: int) -> dict:
        image = decode_and_transform(self.image_bytes(index), self.transform, self.generator(index),
                                     reduced_decode=self.reduced_decode)
        row = self.token_row(index)
        tokens = torch.full((self.max_tokens,), PAD, dtype=torch.int64)
        tokens[: len(row)] = torch.from_numpy(row.astype(np.int64))
        padding_mask = torch.arange(self.max_tokens) >= len(row)
        return {"image": image, "tokens": tokens, "padding_mask": padding_mask,
                "source": int(self.sources[index]), "image_id": int(self.image_ids[index]), "index": index}
