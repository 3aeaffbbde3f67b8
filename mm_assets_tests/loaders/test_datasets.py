"""Every loader: shapes, dtypes, values, and the same batches whatever the DataLoader's workers."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from mm_assets.loaders.glue import GlueDataset, collate_glue
from mm_assets.loaders.imagenet import ImageNetDataset
from mm_assets.loaders.owt import TokenBlocks
from mm_assets.loaders.pairs import SOURCES, ImageTextPairs, ManifestError


def _batches(dataset, workers, batch_size=4, **options):
    return list(DataLoader(dataset, batch_size=batch_size, num_workers=workers, **options))


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return torch.equal(a, b)


def test_imagenet(imagenet_root):
    train = ImageNetDataset(imagenet_root, "train", seed=7)
    index = pq.read_table(imagenet_root / "imagenet" / "index.parquet").to_pylist()
    assert len(train) == sum(r["split"] == "train" for r in index) == 19
    image, label = train[0]
    assert image.shape == (3, 224, 224) and image.dtype == torch.float32
    assert label == next(r["label"] for r in index if r["split"] == "train")
    serial = _batches(train, 0)
    assert _same(serial, _batches(train, 2))
    assert serial[0][1].dtype == torch.int64
    train.set_epoch(1)
    assert not torch.equal(_batches(train, 0)[0][0], serial[0][0])
    assert not torch.equal(ImageNetDataset(imagenet_root, "train", seed=8)[0][0], image)
    val = ImageNetDataset(imagenet_root, "val")
    assert len(val) == 10 and not val.transform.train
    assert _same(_batches(val, 0), _batches(val, 2))


@pytest.mark.parametrize("workers", [1, 2])
def test_persistent_workers_see_each_new_epoch(imagenet_root, pairs_root, workers):
    for make in (lambda: ImageNetDataset(imagenet_root, "train", seed=7), lambda: ImageTextPairs(pairs_root, seed=3)):
        dataset = make()
        loader = DataLoader(dataset, batch_size=4, num_workers=workers, persistent_workers=True)
        epochs = []
        for epoch in (0, 1):
            dataset.set_epoch(epoch)
            epochs.append(list(loader))
        assert not _same(epochs[0], epochs[1])  # a new epoch, new draws
        for epoch in (0, 1):  # and each epoch's draws are those of an in-process loader
            fresh = make()
            fresh.set_epoch(epoch)
            assert _same(epochs[epoch], _batches(fresh, 0))


def test_pairs(pairs_root):
    pairs = ImageTextPairs(pairs_root, seed=3)
    manifest = pq.read_table(pairs_root / "pairs" / "manifest.parquet").to_pylist()
    assert len(pairs) == len(manifest) == 14 and pairs.transform.scale == (0.6, 1.0)
    for i in (0, 8, 11, 13):
        item = pairs[i]
        n = manifest[i]["n_tokens"]
        assert item["image"].shape == (3, 224, 224) and item["tokens"].shape == (64,)
        assert item["tokens"].dtype == torch.int64 and item["padding_mask"].dtype == torch.bool
        assert item["tokens"][:n].tolist() == manifest[i]["tokens"] and (item["tokens"][n:] == 1).all()
        assert item["padding_mask"].tolist() == [False] * n + [True] * (64 - n)
        assert SOURCES[item["source"]] == manifest[i]["source"] and item["image_id"] == manifest[i]["image_id"]
    assert not pairs[13]["padding_mask"].any()  # 64 tokens: no padding
    assert pairs.image_bytes(11)[:2] == b"\xff\xd8"  # read from the CC3M shard at its offset
    assert _same(_batches(pairs, 0), _batches(pairs, 2))


def test_pairs_refuse_a_bad_manifest(pairs_root, tmp_path):
    table = pq.read_table(pairs_root / "pairs" / "manifest.parquet")
    images = table.column("image").to_pylist()
    images[-1] = images[-1].replace("000000012", "000000099")
    (tmp_path / "pairs").mkdir()
    pq.write_table(table.set_column(2, "image", pa.array(images)), tmp_path / "pairs" / "manifest.parquet")
    (tmp_path / "cc3m").symlink_to(pairs_root / "cc3m")
    with pytest.raises(ManifestError, match="no image for key 000000099"):
        ImageTextPairs(tmp_path)
    with pytest.raises(ManifestError, match="more than 32 tokens"):
        ImageTextPairs(pairs_root, max_tokens=32)


def test_owt_blocks(owt_root):
    from mm_assets.formats.fairseq_mmap import read_sizes

    flat = np.concatenate([np.fromfile(owt_root / "owt/fairseq/train.bin", dtype=np.uint16)]).astype(np.int64)
    blocks = TokenBlocks(owt_root, "train", block_size=16)
    assert len(blocks) == len(flat) // 15
    assert blocks[2].tolist() == [0, *flat[30:45].tolist()] and blocks[2].dtype == torch.int64
    plain = TokenBlocks(owt_root, "train", block_size=16, prepend_bos=False, drop_partial=False)
    assert len(plain) == -(-len(flat) // 16) and plain[len(plain) - 1].tolist() == flat[(len(plain) - 1) * 16:].tolist()
    assert sum(read_sizes(owt_root / "owt/fairseq/valid.idx")) == TokenBlocks(owt_root, "valid", 4).tokens.tokens
    assert _same(_batches(blocks, 0), _batches(blocks, 2))


def test_glue(glue_root, glue_mirror):
    rte = GlueDataset(glue_root, "rte", "valid")
    item = rte[0]
    tokens = item["tokens"].tolist()
    assert tokens[0] == 0 and tokens[-1] == 2 and tokens.count(2) >= 3
    assert rte.label_names[:2] in (["entailment", "not_entailment"], ["not_entailment", "entailment"])
    hub = pq.read_table(glue_mirror / "rte/validation-00000-of-00001.parquet").column("label").to_pylist()
    names = ["entailment", "not_entailment"]
    assert [rte.label_names[int(rte[i]["target"])] for i in range(len(rte))] == [names[v] for v in hub]
    batch = next(iter(DataLoader(rte, batch_size=5, collate_fn=collate_glue, num_workers=2)))
    assert batch["tokens"].shape[0] == 5 and batch["target"].dtype == torch.int64
    assert (batch["tokens"][torch.arange(5), batch["lengths"] - 1] == 2).all()
    stsb = GlueDataset(glue_root, "stsb", "train")
    assert stsb[0]["target"].dtype == torch.float32 and 0 <= float(stsb[0]["target"]) <= 1
    test = GlueDataset(glue_root, "sst2", "test")
    assert "target" not in test[0] and test[0]["tokens"].tolist().count(2) == 1
    with pytest.raises(FileNotFoundError, match="materialize glue_fairseq_data for partition qqp"):
        GlueDataset(glue_root, "qqp")
