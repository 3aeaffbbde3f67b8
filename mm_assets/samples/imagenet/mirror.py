"""Generate an ImageNet mirror laid out like the hub's `ILSVRC/imagenet-1k`, for samples and tests.

`data/{train,validation,test}-NNNNN-of-MMMMM.parquet`, columns `image` {`bytes`, `path`} and
`label` (-1 in test), hub file names (`n01440764_10026_n01440764.JPEG`,
`ILSVRC2012_val_00000001_n01751748.JPEG`, `ILSVRC2012_test_00000001.JPEG`), rows shuffled across
shards, several row groups per shard. The images are real JPEGs of photo-like content and
ImageNet-like sizes, with ImageNet's own oddities: a grayscale JPEG, a CMYK JPEG, a PNG named
`.JPEG` (as `n02105855_2933.JPEG` is), and, unlike ImageNet, one truncated JPEG that no decoder
can read, so the unreadable-image path is exercised.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa

from mm_assets.datasets.imagenet.synsets import label_of_synset
from mm_assets.formats.parquet import write_parquet
from mm_assets.samples.synthetic_images import encode, photo_like

# A handful of classes spread over the label range: the first, goldfish, the sea snake of
# ILSVRC2012_val_00000001, the Shetland sheepdog of the PNG-in-JPEG, the last.
SAMPLE_SYNSETS = ("n01440764", "n01443537", "n01751748", "n02105855", "n15075141")
SIZES = ((500, 375), (375, 500), (500, 333), (500, 400), (640, 480), (1024, 768), (160, 120))
IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def _image(rng: np.random.Generator, number: int, oddity: str | None, sizes=SIZES) -> bytes:
    width, height = sizes[number % len(sizes)]
    pixels = photo_like(rng, width, height)
    if oddity == "grayscale":
        return encode(pixels, "JPEG", mode="L")
    if oddity == "cmyk":
        return encode(pixels, "JPEG", mode="CMYK")
    if oddity == "png":
        return encode(pixels, "PNG")
    data = encode(pixels, "JPEG", quality=int(rng.integers(75, 96)))
    return data[: len(data) // 2] if oddity == "truncated" else data


def sample_rows(train_per_class: int, val_per_class: int, test_images: int, seed: int,
                sizes=SIZES) -> dict[str, list]:
    """split -> [(hub name, image bytes, label)] in the hub's (shuffled) order."""
    rng = np.random.default_rng(seed)
    labels = label_of_synset()
    oddities = {("train", 0, 1): "grayscale", ("train", 1, 2): "cmyk", ("train", 3, 0): "png",
                ("train", 2, 3): "truncated", ("validation", 4, 0): "cmyk"}
    rows: dict[str, list] = {"train": [], "validation": [], "test": []}
    val_number = 0
    for c, synset in enumerate(SAMPLE_SYNSETS):
        for i in range(train_per_class):
            name = f"{synset}_{10026 + 37 * i}_{synset}.JPEG"
            rows["train"].append((name, _image(rng, c + i, oddities.get(("train", c, i)), sizes), labels[synset]))
        for i in range(val_per_class):
            val_number += 1
            name = f"ILSVRC2012_val_{val_number * 7:08d}_{synset}.JPEG"
            rows["validation"].append((name, _image(rng, c + i + 1, oddities.get(("validation", c, i)), sizes),
                                       labels[synset]))
    for i in range(test_images):
        rows["test"].append((f"ILSVRC2012_test_{i + 1:08d}.JPEG", _image(rng, i, None, sizes), -1))
    shuffle = random.Random(seed)
    for split_rows in rows.values():
        shuffle.shuffle(split_rows)
    return rows


def _table(rows: list) -> pa.Table:
    images = pa.array([{"bytes": data, "path": name} for name, data, _ in rows], IMAGE_TYPE)
    return pa.table({"image": images, "label": pa.array([label for _, _, label in rows], pa.int64())})


def generate_mirror(root: str | Path, *, train_per_class: int = 6, val_per_class: int = 2,
                    test_images: int = 3, train_shards: int = 2, seed: int = 0,
                    row_group_rows: int = 8, sizes=SIZES) -> list[Path]:
    """Write the mirror under `root`; return the shard files. `sizes`: (width, height) to cycle through."""
    root = Path(root)
    rows = sample_rows(train_per_class, val_per_class, test_images, seed, sizes)
    shard_counts = {"train": train_shards, "validation": 1, "test": 1}
    written = []
    for split, split_rows in rows.items():
        count = shard_counts[split]
        for index in range(count):
            path = root / "data" / f"{split}-{index:05d}-of-{count:05d}.parquet"
            write_parquet(_table(split_rows[index::count]), path, row_group_rows=row_group_rows)
            written.append(path)
    return written
