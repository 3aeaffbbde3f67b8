"""Images per second of the ImageNet and image-text pair loaders against the usual PIL pipeline.

Builds, in a work folder, ImageNet-like images (photo-like content, ImageNet's mix of sizes, JPEG
quality 75-95: about 0.5 bytes per pixel, as ImageNet's photographs) in the ImageFolder layout
with `imagenet/index.parquet`, and a pair manifest whose images are COCO-like and VG-like files
and CC3M-like images inside a webdataset shard. Then, through `DataLoader(num_workers=<cores>)`:

- reference: `PIL.Image.open(...).convert("RGB")` then torchvision's transforms over PIL images
  with the same augmentation (`SeedTransform.reference()`: RandomResizedCrop 224, bicubic,
  flip, ToTensor, Normalize), tokens padded in Python for the pairs;
- ours: `mm_assets.loaders` as they are by default (`torchvision.io.decode_jpeg`, transforms v2 on
  uint8 channels-last tensors);
- ours with `reduced_decode=True`: DCT-reduced decoding when the crop allows it.

Prints the input statistics, images/s of each and the ratios. Every loader reads every image of
an epoch; the first batch (worker start-up) is not timed. The loaders are measured in turns,
`--rounds` times, and each keeps its best round, so that load from other processes on a shared
machine does not land on one of them only.

Usage: python benchmarks/loaders.py [--images 2000] [--workers N] [--epochs 2] [--rounds 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mm_assets.datasets.imagenet.index import INDEX_SCHEMA  # noqa: E402
from mm_assets.formats.parquet import write_parquet  # noqa: E402
from mm_assets.formats.webdataset import image_ref, open_shard, sample_key  # noqa: E402
from mm_assets.images.transforms import seed_transform  # noqa: E402
from mm_assets.loaders.imagenet import ImageNetDataset  # noqa: E402
from mm_assets.loaders.pairs import ImageTextPairs  # noqa: E402
from mm_assets.samples.synthetic_images import photo_jpeg  # noqa: E402

# ImageNet's sizes: most photographs are 500 px on the long side; some larger, a few small.
IMAGENET_SIZES = ([(500, 375)] * 8 + [(375, 500)] * 3 + [(500, 333)] * 4 + [(500, 400)] * 2
                  + [(640, 480), (800, 600), (1024, 768), (333, 500), (200, 150)])
COCO_SIZES = [(640, 480), (480, 640), (640, 427), (500, 375)]
VG_SIZES = [(800, 600), (800, 533), (500, 375), (1024, 768)]
CC3M_SIZES = [(500, 375), (400, 300), (640, 480), (1000, 750), (300, 225), (800, 800)]


def _jpeg(task: tuple[int, str, int]) -> bytes:
    """Image `number` of a set: its own seed, so the images do not depend on the build's workers."""
    seed, kind, number = task
    rng = np.random.default_rng([seed, len(kind), number])
    sizes = {"imagenet": IMAGENET_SIZES, "coco": COCO_SIZES, "vg": VG_SIZES, "cc3m": CC3M_SIZES}[kind]
    width, height = sizes[int(rng.integers(len(sizes)))]
    return photo_jpeg(rng, width, height, quality=int(rng.integers(75, 96)))


def _jpegs(kinds: list[str], seed: int, workers: int) -> list[bytes]:
    from concurrent.futures import ProcessPoolExecutor

    tasks = [(seed, kind, number) for number, kind in enumerate(kinds)]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_jpeg, tasks, chunksize=16))


def build_imagenet(root: Path, count: int, seed: int, workers: int) -> dict:
    rows = {name: [] for name in INDEX_SCHEMA.names}
    total_bytes = total_pixels = 0
    for i, data in enumerate(_jpegs(["imagenet"] * count, seed, workers)):
        synset = f"n{1440764 + i % 10:08d}"
        path = root / "imagenet" / "train" / synset / f"{synset}_{i}.JPEG"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        width, height = Image.open(io.BytesIO(data)).size
        for name, value in zip(INDEX_SCHEMA.names, ("train", path.relative_to(root).as_posix(), synset,
                                                     i % 10, width, height)):
            rows[name].append(value)
        total_bytes += len(data)
        total_pixels += width * height
    write_parquet(pa.table(rows, schema=INDEX_SCHEMA), root / "imagenet" / "index.parquet")
    return {"images": count, "bytes": total_bytes, "pixels": total_pixels}


def build_pairs(root: Path, count: int, seed: int, workers: int) -> dict:
    rows = []
    total_bytes = total_pixels = 0
    shard = "cc3m/images/00000.tar"
    (root / "cc3m" / "images").mkdir(parents=True, exist_ok=True)
    kinds = [("coco", "vg", "cc3m")[i % 3] for i in range(count)]
    rng = np.random.default_rng(seed)
    with open_shard(root / shard) as writer:
        for i, (kind, data) in enumerate(zip(kinds, _jpegs(kinds, seed + 1, workers))):
            if kind == "cc3m":
                writer.add(sample_key(i), {"jpg": data, "txt": b"a caption"})
                ref = image_ref(shard, sample_key(i))
            else:
                path = root / kind / "images" / f"{i}.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                ref = path.relative_to(root).as_posix()
            width, height = Image.open(io.BytesIO(data)).size
            total_bytes += len(data)
            total_pixels += width * height
            length = int(rng.integers(5, 64))
            tokens = [0, *rng.integers(4, 50000, size=length - 2).tolist(), 2]
            rows.append((kind, i, ref, tokens))
    table = pa.table({"source": [r[0] for r in rows], "image_id": pa.array([r[1] for r in rows], pa.int64()),
                      "image": [r[2] for r in rows], "caption": ["a caption"] * len(rows),
                      "tokens": pa.array([r[3] for r in rows], pa.list_(pa.uint16())),
                      "n_tokens": pa.array([len(r[3]) for r in rows], pa.int32())})
    write_parquet(table, root / "pairs" / "manifest.parquet")
    return {"images": count, "bytes": total_bytes, "pixels": total_pixels}


class ReferenceImages(Dataset):
    """The usual way: PIL opens and decodes the file, torchvision's PIL transforms augment it."""

    def __init__(self, ours: ImageNetDataset | ImageTextPairs, image_text: bool) -> None:
        self.ours = ours
        self.image_text = image_text
        self.transform = seed_transform("train", image_text=image_text).reference()

    def __len__(self) -> int:
        return len(self.ours)

    def __getitem__(self, index: int):
        if self.image_text:
            image = Image.open(io.BytesIO(self.ours.image_bytes(index))).convert("RGB")
            row = self.ours.token_row(index).tolist()
            tokens = torch.tensor(row + [1] * (64 - len(row)))
            return {"image": self.transform(image), "tokens": tokens,
                    "padding_mask": torch.tensor([False] * len(row) + [True] * (64 - len(row)))}
        image = Image.open(self.ours.root / self.ours.paths[index]).convert("RGB")
        return self.transform(image), int(self.ours.labels[index])


def images_per_second(dataset, workers: int, epochs: int, batch_size: int) -> float:
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(0))
    seen = 0
    started = None
    for _ in range(epochs):
        for batch in loader:
            images = batch["image"] if isinstance(batch, dict) else batch[0]
            if started is None:
                started = time.perf_counter()  # worker start-up and the first batch are not timed
                continue
            seen += len(images)
    return seen / (time.perf_counter() - started)


def reduced_share(dataset, samples: int = 400) -> float:
    """The share of training crops that allow a DCT-reduced decode (at least 448 px on both sides)."""
    from mm_assets.loaders.decode import reduction_for

    transform = dataset.transform
    hits = 0
    for i in range(min(samples, len(dataset))):
        data = dataset.image_bytes(i) if hasattr(dataset, "image_bytes") else (dataset.root / dataset.paths[i]).read_bytes()
        width, height = Image.open(io.BytesIO(data)).size
        hits += reduction_for(transform.plan(width, height, torch.Generator().manual_seed(i)), transform.size) > 1
    return hits / min(samples, len(dataset))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="images per data set")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_loaders_"))
    started = time.perf_counter()
    stats = {"ImageNet-like": build_imagenet(workdir / "imagenet_data", args.images, 0, args.workers),
             "pairs (COCO/VG files, CC3M shard)": build_pairs(workdir / "pairs_data", args.images, 1, args.workers)}
    import PIL
    import torchvision

    print(f"built in {time.perf_counter() - started:.0f} s under {workdir}; {len(os.sched_getaffinity(0))} cores; "
          f"torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {PIL.__version__}; "
          f"{args.workers} loader worker(s), batch {args.batch_size}, {args.epochs} epoch(s) each")
    for name, s in stats.items():
        print(f"{name}: {s['images']:,} JPEGs, mean {s['pixels'] / s['images'] / 1e3:.0f} kpixels, "
              f"mean {s['bytes'] / s['images'] / 1e3:.0f} KB, {s['bytes'] / s['pixels']:.2f} bytes/pixel")
    cases = {
        "ImageNet (image-only crop 0.08-1)": (
            lambda reduced: ImageNetDataset(workdir / "imagenet_data", "train", reduced_decode=reduced), False),
        "image-text pairs (crop 0.6-1)": (
            lambda reduced: ImageTextPairs(workdir / "pairs_data", reduced_decode=reduced), True),
    }
    for name, (make, image_text) in cases.items():
        ours = make(False)
        loaders = {"reference": ReferenceImages(ours, image_text), "ours": ours, "reduced": make(True)}
        best = {key: 0.0 for key in loaders}
        for _ in range(args.rounds):
            for key, dataset in loaders.items():
                best[key] = max(best[key], images_per_second(dataset, args.workers, args.epochs, args.batch_size))
        reference, full, reduced = best["reference"], best["ours"], best["reduced"]
        print(f"{name}:\n"
              f"  reference (PIL + torchvision PIL transforms):  {reference:7.1f} images/s\n"
              f"  ours (decode_jpeg + v2 on uint8), the default: {full:7.1f} images/s  ({full / reference:.2f}x)\n"
              f"  ours with reduced_decode=True:                 {reduced:7.1f} images/s  ({reduced / reference:.2f}x; "
              f"{100 * reduced_share(ours):.0f}% of the crops allow it)")


if __name__ == "__main__":
    main()
