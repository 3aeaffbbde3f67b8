"""The shard list: only whole listings are accepted; the test split is listed but not used."""

import pytest

from mm_assets.datasets.imagenet.shards import ShardList, ShardListError, listed_files, shard_list


def _names(**counts):
    return [(f"{split}-{i:05d}-of-{n:05d}.parquet", 10, None) for split, n in counts.items() for i in range(n)]


def test_a_whole_listing(tmp_path):
    shards = shard_list("src", _names(train=3, validation=2, test=4) + [("README.md", 1, None)])
    assert [s.name for s in shards.shards] == ["train-00000-of-00003", "train-00001-of-00003",
                                               "train-00002-of-00003", "validation-00000-of-00002",
                                               "validation-00001-of-00002"]
    assert [s.split for s in shards.shards] == ["train"] * 3 + ["val"] * 2
    assert shards.unused == {"test": 4}
    shards.save(tmp_path / "shards.json")
    assert ShardList.load(tmp_path / "shards.json") == shards


@pytest.mark.parametrize("files,message", [
    (_names(train=3, validation=2)[:2] + _names(validation=2), "train has 2 of its 3 shards; missing 00002"),
    (_names(train=2), "no validation shards listed"),
    (_names(train=2, validation=1) + [("train-00002-of-00004.parquet", 1, None)], "disagree on their count"),
])
def test_a_listing_that_is_not_whole_is_refused(files, message):
    with pytest.raises(ShardListError, match=message):
        shard_list("src", files)


def test_a_mirror_lists_its_folder(imagenet_mirror, tmp_path):
    names = [name for name, _, _ in listed_files(str(imagenet_mirror))]
    assert names == ["test-00000-of-00001.parquet", "train-00000-of-00002.parquet",
                     "train-00001-of-00002.parquet", "validation-00000-of-00001.parquet"]
    with pytest.raises(ShardListError, match="no such folder"):
        listed_files(str(tmp_path))
    with pytest.raises(ShardListError, match="must be the hub's resolve URL"):
        listed_files("https://example.com/imagenet")


def test_a_shard_of_another_shape_fails_naming_the_file_before_any_row_is_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mm_assets.datasets.imagenet.shards import check_shard_shape
    from mm_assets.formats.shape import ShapeError

    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"image": [b"\xff\xd8"], "label": [3]}), path)  # bytes, not {bytes, path}
    with pytest.raises(ShapeError, match=f"{path}: column 'image' is binary, expected a struct of"):
        check_shard_shape(path)
