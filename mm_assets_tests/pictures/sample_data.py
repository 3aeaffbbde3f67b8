"""Test data for the pictures (imported by tests and fixtures): a small data root with a pair
manifest encoded by the caption rule (COCO, VG, CC3M in a webdataset shard; one caption past the
64-token limit), a VG concat table beside it, and the BPE files where the pipeline keeps them."""

import shutil

import numpy as np
import pyarrow as pa

from mm_assets.datasets.pairs.table import PendingPairs, encode_pairs
from mm_assets.formats.parquet import write_parquet
from mm_assets.formats.webdataset import image_ref, open_shard, sample_key
from mm_assets.layout import DataLayout
from mm_assets.samples.synthetic_images import photo_jpeg

LONG_CAPTION = " ".join(f"the {i}th small red boat beside the long wooden pier" for i in range(12))


def _table(encoder, pending: list[PendingPairs]) -> pa.Table:
    return pa.Table.from_batches([encode_pairs(encoder, p)[0] for p in pending])


def make_pictures_root(root, caption_encoder, bpe_dir):
    layout = DataLayout(root)
    shutil.copytree(bpe_dir, layout.gpt2_bpe_dir)
    rng = np.random.default_rng(3)
    coco, vg, concat, cc3m = (PendingPairs(s) for s in ("coco", "vg", "vg_concat", "cc3m"))
    for i in range(5):
        path = f"coco/images/train2014/COCO_train2014_{i:012d}.jpg"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(photo_jpeg(rng, 200, 150))
        coco.extend(i, path, [f"a photo number {i}", f"a dog on a sofa ({i})"])
    coco.add(4, "coco/images/train2014/COCO_train2014_000000000004.jpg", LONG_CAPTION)
    for i in range(4):
        path = f"vg/images/VG_100K/{i + 1}.jpg"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(photo_jpeg(rng, 240, 180))
        vg.extend(i + 1, path, ["white clouds", f"région {i} café"])
        concat.add(i + 1, path, f"white clouds and région {i} café")
    shard = "cc3m/images/00000.tar"
    (root / shard).parent.mkdir(parents=True, exist_ok=True)
    with open_shard(root / shard) as writer:
        for row_id in (3, 7, 12):
            writer.add(sample_key(row_id), {"jpg": photo_jpeg(rng, 180, 140), "txt": b"c", "json": b"{}"})
            cc3m.add(row_id, image_ref(shard, sample_key(row_id)), f"actor {row_id} at the premiere")
    write_parquet(_table(caption_encoder, [coco, vg, cc3m]), layout.pairs.manifest)
    write_parquet(_table(caption_encoder, [concat]), layout.vg.concat_pairs)
    return root
