"""Artifacts the loaders read, built small: an ImageNet index, a pair manifest with COCO/VG files
and CC3M shard references, an OWT data directory, GLUE task folders."""

import shutil

import numpy as np
import pyarrow as pa
import pytest

from mm_assets.common.atomic import AtomicGroup
from mm_assets.formats.fairseq_mmap import MMapWriter
from mm_assets.formats.parquet import write_parquet
from mm_assets.formats.webdataset import image_ref, open_shard, sample_key
from mm_assets.samples.synthetic_images import photo_jpeg


@pytest.fixture(scope="session")
def imagenet_root(imagenet_mirror, tmp_path_factory):
    from mm_assets.datasets.imagenet.index import build_index
    from mm_assets.datasets.imagenet.paths import ImagenetPaths
    from mm_assets.datasets.imagenet.shards import listed_files, shard_list

    root = tmp_path_factory.mktemp("loader_data")
    shards = shard_list(str(imagenet_mirror), listed_files(str(imagenet_mirror)))
    paths = ImagenetPaths(root / "imagenet")
    for shard in shards.shards:
        paths.raw_shard(shard.name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(imagenet_mirror / shard.hub_path, paths.raw_shard(shard.name))
    build_index(shards, paths, workers=2)
    return root


PAIR_TYPE = pa.list_(pa.uint16())


@pytest.fixture(scope="session")
def pairs_root(tmp_path_factory):
    """pairs/manifest.parquet with the manifest's columns; COCO and VG images as files, CC3M in a shard."""
    root = tmp_path_factory.mktemp("pairs_data")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(4):
        path = root / "coco" / "images" / "train2014" / f"COCO_train2014_{i:012d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo_jpeg(rng, 160, 120))
        rows += [("coco", i, path.relative_to(root).as_posix(), f"caption {i}.{k}") for k in range(2)]
    for i in range(3):
        path = root / "vg" / "images" / ("VG_100K" if i % 2 else "VG_100K_2") / f"{i + 1}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo_jpeg(rng, 200, 150))
        rows.append(("vg", i + 1, path.relative_to(root).as_posix(), f"region {i}"))
    shard = "cc3m/images/00000.tar"
    with open_shard(root / shard) as writer:
        for row_id in (3, 7, 12):
            writer.add(sample_key(row_id), {"jpg": photo_jpeg(rng, 180, 140), "txt": b"caption", "json": b"{}"})
            rows.append(("cc3m", row_id, image_ref(shard, sample_key(row_id)), f"cc3m {row_id}"))
    tokens = [[0, *rng.integers(4, 50000, size=int(rng.integers(1, 63))).tolist(), 2] for _ in rows]
    tokens[-1] = [0, *range(100, 162), 2]  # exactly 64
    table = pa.table({
        "source": [r[0] for r in rows], "image_id": pa.array([r[1] for r in rows], pa.int64()),
        "image": [r[2] for r in rows], "caption": [r[3] for r in rows],
        "tokens": pa.array(tokens, PAIR_TYPE), "n_tokens": pa.array([len(t) for t in tokens], pa.int32()),
    })
    write_parquet(table, root / "pairs" / "manifest.parquet")
    return root


@pytest.fixture(scope="session")
def owt_root(tmp_path_factory):
    """owt/fairseq/{train,valid}.{bin,idx}: sequences of known tokens, each ending in </s>."""
    root = tmp_path_factory.mktemp("owt_data")
    rng = np.random.default_rng(0)
    folder = root / "owt" / "fairseq"
    folder.mkdir(parents=True)
    for split, count in (("train", 40), ("valid", 7)):
        sizes = rng.integers(1, 30, size=count)
        tokens = np.concatenate([np.append(rng.integers(4, 50000, size=s - 1), 2) for s in sizes])
        with AtomicGroup() as group:
            writer = MMapWriter(folder / split, group)
            writer.add_block(tokens.astype(np.uint16), sizes.astype(np.int32))
            writer.finish()
    return root


@pytest.fixture(scope="session")
def glue_root(glue_mirror, bpe_dir, tmp_path_factory):
    """glue/<TASK>-bin/ for RTE (a sentence pair), STS-B (a regression) and SST-2 (one sentence)."""
    from mm_assets.datasets.glue.fairseq_data import write_task_dir
    from mm_assets.datasets.glue.tasks import TASKS
    from mm_assets.text.gpt2_bpe import Gpt2BpeFiles

    root = tmp_path_factory.mktemp("glue_data")
    for key in ("rte", "stsb", "sst2"):
        task = TASKS[key]
        write_task_dir(task, {s: glue_mirror / task.hub_path(s) for s in task.hub_splits}, Gpt2BpeFiles(bpe_dir),
                       root / "glue" / task.bin_dir_name, workers=2)
    return root
