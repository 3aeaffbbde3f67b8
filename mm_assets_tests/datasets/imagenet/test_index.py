"""The ImageFolder index: labels checked against the hub's label column and the synsets in the
file names, bytes unchanged, unreadable images counted and listed, resume shard by shard."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.common.missing import MissingInputError
from mm_assets.datasets.imagenet.index import build_index, unreadable
from mm_assets.datasets.imagenet.synsets import label_of_synset, parse_image_name
from mm_assets_tests.datasets.imagenet.raw_shards import install_raw_shards


def _hub_rows(paths, shards):
    rows = {}
    for shard in shards.shards:
        table = pq.read_table(paths.raw_shard(shard.name))
        for image, label in zip(table.column("image").to_pylist(), table.column("label").to_pylist()):
            rows[(shard.split, image["path"])] = (image["bytes"], label)
    return rows


@pytest.fixture(scope="module")
def indexed(imagenet_mirror, tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet_data")
    shards, paths = install_raw_shards(imagenet_mirror, root)
    return shards, paths, build_index(shards, paths, workers=2)


def test_labels_agree_with_hub_labels_and_file_names_and_bytes_are_unchanged(indexed):
    shards, paths, summary = indexed
    hub = _hub_rows(paths, shards)
    index = pq.read_table(paths.index).to_pylist()
    assert len(index) == len(hub) - 1 == summary.images["train"] + summary.images["val"]  # one truncated
    by_name = {(split, parse_image_name(name, split).file_name): key for (split, name), key in
               ((k, k[1]) for k in hub)}
    labels = label_of_synset()
    for row in index:
        split, synset, name = row["path"].split("/")[1:]
        assert row["split"] == split and row["synset"] == synset
        data, hub_label = hub[(split, by_name[(split, name)])]
        assert row["label"] == hub_label == labels[synset]
        assert parse_image_name(by_name[(split, name)], split).synset == synset
        assert (paths.data_root / row["path"]).read_bytes() == data
    assert (paths.split_dir("train") / "n02105855").is_dir() and not (paths.root / "test").exists()


def test_sizes_classes_and_the_unreadable_image(indexed):
    shards, paths, summary = indexed
    assert summary.images == {"train": 19, "val": 10}
    assert summary.class_range("train") == (5, 3, 4) and summary.class_range("val") == (5, 2, 2)
    assert summary.tally.counts == {"dropped_truncated": 1}
    [bad] = unreadable(summary)
    assert bad.hub_name == "n01751748_10137_n01751748.JPEG" and bad.reason == "truncated"
    listed = paths.dropped.read_text().splitlines()
    assert listed[0] == "shard\trow\thub_name\treason\tdetail" and "n01751748_10137_n01751748.JPEG" in listed[1]
    index = pq.read_table(paths.index)
    widths = dict(zip(index.column("path").to_pylist(), index.column("width").to_pylist()))
    assert set(widths.values()) <= {96, 72, 120, 64, 500}
    assert paths.synsets.read_text().splitlines()[65] == "n01751748"


def test_a_rerun_keeps_finished_shards_and_redoes_a_changed_one(indexed):
    shards, paths, _ = indexed
    before = paths.index.read_bytes()
    parts = {s.name: paths.part(s.name).stat().st_mtime_ns for s in shards.shards}
    raw = paths.raw_shard("validation-00000-of-00001")
    raw.write_bytes(raw.read_bytes())  # a refetch of the same bytes: the part records the sha256, kept
    build_index(shards, paths, workers=1)
    assert {s.name: paths.part(s.name).stat().st_mtime_ns for s in shards.shards} == parts
    assert paths.index.read_bytes() == before
    pq.write_table(pq.read_table(raw), raw, row_group_size=3)  # the same rows in another file: redone
    build_index(shards, paths, workers=1)
    after = {s.name: paths.part(s.name).stat().st_mtime_ns for s in shards.shards}
    assert [name for name in parts if after[name] != parts[name]] == ["validation-00000-of-00001"]
    assert paths.index.read_bytes() == before


def test_a_label_that_disagrees_is_left_out_and_listed(imagenet_mirror, tmp_path):
    shards, paths = install_raw_shards(imagenet_mirror, tmp_path)
    raw = paths.raw_shard("validation-00000-of-00001")
    table = pq.read_table(raw)
    labels = table.column("label").to_pylist()
    labels[0] = (labels[0] + 1) % 1000
    names = table.column("image").to_pylist()
    names[1]["path"] = names[1]["path"].replace(".JPEG", "_x.JPEG")
    image_type = table.schema.field("image").type
    pq.write_table(pa.table({"image": pa.array(names, image_type), "label": pa.array(labels, pa.int64())}), raw)
    summary = build_index(shards, paths, workers=2)
    assert summary.tally["dropped_label_disagrees"] == 1 and summary.tally["dropped_unparsable_name"] == 1
    assert summary.images["val"] == 8
    reasons = [line.split("\t")[3] for line in paths.dropped.read_text().splitlines()[1:]]
    assert sorted(reasons) == ["label_disagrees", "truncated", "unparsable_name"]


def test_missing_raw_shards_are_named(imagenet_mirror, tmp_path):
    shards, paths = install_raw_shards(imagenet_mirror, tmp_path)
    paths.raw_shard("train-00001-of-00002").unlink()
    with pytest.raises(MissingInputError, match="train-00001-of-00002.parquet is missing: materialize imagenet_raw "
                                                "for partition train-00001-of-00002 first"):
        build_index(shards, paths, workers=1)


def test_index_rows_and_order_computed_independently_from_the_mirror(indexed):
    """Shard order (train shards, then validation), each shard's rows in file order; a row is kept
    when Pillow loads it whole; path, synset, label and size from the name, the pinned list and Pillow."""
    import io

    from PIL import Image

    from mm_assets.datasets.imagenet.synsets import SYNSETS_FILE

    shards, paths, _ = indexed
    synsets = SYNSETS_FILE.read_text().split()
    expected = []
    for shard in shards.shards:
        for image, label in zip(*(pq.read_table(paths.raw_shard(shard.name)).column(c).to_pylist()
                                  for c in ("image", "label"))):
            try:
                with Image.open(io.BytesIO(image["bytes"])) as decoded:
                    decoded.load()
                    width, height = decoded.size
            except OSError:
                continue
            stem, synset = image["path"].removesuffix(".JPEG").rsplit("_", 1)
            assert synsets.index(synset) == label
            expected.append({"split": shard.split, "path": f"imagenet/{shard.split}/{synset}/{stem}.JPEG",
                             "synset": synset, "label": label, "width": width, "height": height})
    assert pq.read_table(paths.index).to_pylist() == expected
