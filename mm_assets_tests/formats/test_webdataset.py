"""Shards in the webdataset layout: deterministic bytes, samples grouped by key, images by reference."""

import pytest

from mm_assets.formats.webdataset import (
    image_ref,
    iter_samples,
    member_offsets,
    open_shard,
    read_image,
    sample_key,
    split_image_ref,
)


def _write(path, samples):
    with open_shard(path) as shard:
        for row_id, image in samples:
            shard.add(sample_key(row_id), {"jpg": image, "txt": b"caption %d" % row_id, "json": b"{}"})


def test_same_samples_same_bytes_and_grouped_by_key(tmp_path):
    samples = [(3, b"\xff\xd8three"), (17, b"\xff\xd8seventeen")]
    _write(tmp_path / "a.tar", samples)
    _write(tmp_path / "b.tar", samples)
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    got = list(iter_samples(tmp_path / "a.tar"))
    assert [key for key, _ in got] == ["000000003", "000000017"]
    assert got[1][1] == {"jpg": b"\xff\xd8seventeen", "txt": b"caption 17", "json": b"{}"}
    assert set(member_offsets(tmp_path / "a.tar")) == {"000000003", "000000017"}
    assert read_image(tmp_path / "a.tar", "000000017") == ("000000017.jpg", b"\xff\xd8seventeen")


def test_keys_must_increase_and_a_failed_shard_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="increase"):
        _write(tmp_path / "c.tar", [(5, b"x"), (4, b"y")])
    assert not (tmp_path / "c.tar").exists()


def test_image_references_round_trip():
    ref = image_ref("cc3m/images/00012.tar", "000120034")
    assert ref == "cc3m/images/00012.tar#000120034"
    assert split_image_ref(ref) == ("cc3m/images/00012.tar", "000120034")
    with pytest.raises(ValueError):
        split_image_ref("no-key.tar")
