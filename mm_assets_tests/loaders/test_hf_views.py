"""The Hugging Face views against the torch loaders: the same rows in the same order, the same
labels and tokens, and the same pixel tensors (validation transform; training transform with the
same seed and epoch), directly and through a DataLoader with workers."""

import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from mm_assets.datasets.cc3m.subset import SUBSET_SCHEMA
from mm_assets.formats.parquet import write_parquet
from mm_assets.formats.webdataset import sample_key
from mm_assets.images.transforms import seed_transform
from mm_assets.loaders.glue import GlueDataset
from mm_assets.loaders.hf_views import CACHE_DIR, image_transform, open_dataset
from mm_assets.loaders.imagenet import ImageNetDataset
from mm_assets.loaders.pairs import SOURCES, ImageTextPairs


def test_pairs_view_is_the_manifest(pairs_root):
    view = open_dataset(pairs_root, "pairs")
    manifest = pq.read_table(pairs_root / "pairs" / "manifest.parquet").to_pylist()
    assert view.to_list() == [{**row, "index": i} for i, row in enumerate(manifest)]
    assert (pairs_root / CACHE_DIR).is_dir()


@pytest.mark.parametrize("split, epoch", [("val", 0), ("train", 0), ("train", 1)])
def test_pairs_transform_gives_the_loaders_items(pairs_root, split, epoch):
    loader = ImageTextPairs(pairs_root, split=split, seed=3)
    transform = image_transform(pairs_root, "pairs", split, seed=3)
    loader.set_epoch(epoch)
    transform.set_epoch(epoch)
    view = open_dataset(pairs_root, "pairs").with_transform(transform)
    assert len(view) == len(loader) == 14
    for index in range(len(view)):
        row, item = view[index], loader[index]
        assert torch.equal(row["pixel_values"], item["image"]), index
        assert torch.equal(row["tokens"], item["tokens"]) and torch.equal(row["padding_mask"], item["padding_mask"])
        assert (row["image_id"], SOURCES.index(row["source"]), row["index"]) == (
            item["image_id"], item["source"], item["index"])


def test_pairs_view_in_a_dataloader_with_workers(pairs_root):
    """Forked workers keep the draws (index, seed) and see a new epoch, as the torch loader's do."""
    loader = ImageTextPairs(pairs_root, seed=5)
    transform = image_transform(pairs_root, "pairs", "train", seed=5)
    view = open_dataset(pairs_root, "pairs").with_transform(transform)
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        transform.set_epoch(epoch)
        ours = list(DataLoader(view, batch_size=4, num_workers=2))
        theirs = list(DataLoader(loader, batch_size=4, num_workers=0))
        assert len(ours) == len(theirs) == 4
        for a, b in zip(ours, theirs):
            assert torch.equal(a["pixel_values"], b["image"]) and torch.equal(a["tokens"], b["tokens"])
            assert torch.equal(a["index"], b["index"]) and torch.equal(a["image_id"], b["image_id"])
        if epoch == 0:
            first = ours[0]["pixel_values"]
    assert not torch.equal(first, ours[0]["pixel_values"])  # epoch 1 drew anew


@pytest.mark.parametrize("split, transform_split", [("val", "val"), ("train", "train"), ("train", "val")])
def test_imagenet_view_gives_the_loaders_images_and_labels(imagenet_root, split, transform_split):
    loader = ImageNetDataset(imagenet_root, split, seed_transform(transform_split), seed=7)
    view = open_dataset(imagenet_root, "imagenet", split).with_transform(
        image_transform(imagenet_root, "imagenet", transform_split, seed=7))
    index = pq.read_table(imagenet_root / "imagenet" / "index.parquet").to_pylist()
    assert [row["path"] for row in view] == [row["path"] for row in index if row["split"] == split]
    assert len(view) == len(loader) > 0
    for position in range(len(view)):
        image, label = loader[position]
        row = view[position]
        assert torch.equal(row["pixel_values"], image) and row["label"] == label, position


def test_cc3m_view_reads_the_subset_and_its_shard(pairs_root, tmp_path):
    """The subset's rows in order; each image the bytes the pair manifest's CC3M rows point at."""
    root = tmp_path / "data"
    shutil.copytree(pairs_root / "cc3m", root / "cc3m")
    manifest = pq.read_table(pairs_root / "pairs" / "manifest.parquet").to_pylist()
    cc3m = [(i, row) for i, row in enumerate(manifest) if row["source"] == "cc3m"]
    subset = pa.table({
        "row_id": [row["image_id"] for _, row in cc3m], "url": [f"https://example.org/{i}" for i, _ in cc3m],
        "caption": [row["caption"] for _, row in cc3m], "shard": ["00000"] * len(cc3m),
        "key": [sample_key(row["image_id"]) for _, row in cc3m], "sha256": ["0" * 64] * len(cc3m),
        "width": [180] * len(cc3m), "height": [140] * len(cc3m)}, schema=SUBSET_SCHEMA)
    write_parquet(subset, root / "cc3m" / "subset.parquet")
    view = open_dataset(root, "cc3m").with_transform(image_transform(root, "cc3m", "val"))
    pairs = ImageTextPairs(pairs_root, split="val")
    assert [row["row_id"] for row in view] == [row["image_id"] for _, row in cc3m] == [3, 7, 12]
    for position, (manifest_row, _) in enumerate(cc3m):
        assert torch.equal(view[position]["pixel_values"], pairs[manifest_row]["image"])
    assert image_transform(root, "cc3m").transform.scale == (0.6, 1.0)  # image-text data


@pytest.mark.parametrize("task, split", [("rte", "valid"), ("stsb", "train"), ("sst2", "test")])
def test_glue_view_gives_the_loaders_tokens_and_targets(glue_root, task, split):
    loader = GlueDataset(glue_root, task, split)
    view = open_dataset(glue_root, f"glue/{task}", split).with_format("torch")
    assert len(view) == len(loader) > 0
    for index in range(len(view)):
        row, item = view[index], loader[index]
        assert torch.equal(row["tokens"], item["tokens"]) and int(row["index"]) == index
        assert ("target" in row) == ("target" in item)
        if "target" in item:
            assert torch.equal(row["target"], item["target"]), index
    if task == "rte":
        assert view.features["target"].names == loader.label_names


def test_a_rematerialized_table_is_read_again_not_taken_from_the_cache(pairs_root, tmp_path):
    root = tmp_path / "data"
    (root / "pairs").mkdir(parents=True)
    table = pq.read_table(pairs_root / "pairs" / "manifest.parquet")
    write_parquet(table, root / "pairs" / "manifest.parquet")
    assert open_dataset(root, "pairs")["caption"] == table.column("caption").to_pylist()
    changed = table.slice(2, 5).set_column(3, "caption", pa.array([f"new {i}" for i in range(5)]))
    write_parquet(changed, root / "pairs" / "manifest.parquet")
    assert open_dataset(root, "pairs")["caption"] == [f"new {i}" for i in range(5)]


def test_refusals_name_what_to_do(pairs_root, imagenet_root, tmp_path):
    with pytest.raises(FileNotFoundError, match="materialize imagenet_index"):
        open_dataset(tmp_path, "imagenet")
    with pytest.raises(FileNotFoundError, match="materialize glue_fairseq_data for partition qqp"):
        open_dataset(tmp_path, "glue/qqp")
    with pytest.raises(ValueError, match="expected one of pairs, imagenet, cc3m, glue/<task>"):
        open_dataset(pairs_root, "coco")
    with pytest.raises(ValueError, match="expected one of train, val"):
        open_dataset(imagenet_root, "imagenet", "test")
    with pytest.raises(ValueError, match="one table"):
        open_dataset(pairs_root, "pairs", "val")
    with pytest.raises(ValueError, match="has no images"):
        image_transform(pairs_root, "glue/rte")
    view = open_dataset(pairs_root, "pairs").with_transform(image_transform(pairs_root, "pairs"),
                                                             columns=["image", "tokens"])
    with pytest.raises(KeyError, match="needs the column"):
        view[0]
    assert np.asarray(open_dataset(pairs_root, "pairs")["index"]).tolist() == list(range(14))
