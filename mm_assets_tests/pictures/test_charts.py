"""The charts: the numbers behind them read right from the artifacts, the same PNG bytes for the
same numbers (no time or software version in the file), small, and embeddable as Markdown."""

import base64
import io
import os
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from mm_assets.common.atomic import AtomicGroup
from mm_assets.datasets.cc3m.availability import SNAPSHOT_SCHEMA
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.imagenet.synsets import pinned_synsets
from mm_assets.formats.fairseq_mmap import MMapWriter, read_sizes
from mm_assets.formats.parquet import write_parquet
from mm_assets.layout import DataLayout
from mm_assets.pictures.charts import (
    ClassShares,
    caption_lengths_png,
    images_per_class_png,
    link_rot_png,
    owt_lengths_png,
)
from mm_assets.pictures.png import MAX_PNG_BYTES, markdown_image
from mm_assets.pictures.readers import (
    all_shards_points,
    caption_length_counts,
    images_per_class,
    link_rot_markdown,
    owt_lengths_markdown,
    shard_points,
    subset_mark,
)
from mm_assets.text.captions import MAX_CAPTION_TOKENS

from .sample_data import LONG_CAPTION


def _snapshot(paths: Cc3mPaths, shard: str, stamp: str, statuses: list[str]) -> None:
    n = len(statuses)
    write_parquet(pa.table({
        "shard": [shard] * n, "snapshot": [stamp] * n, "row_id": pa.array(range(n), pa.int64()),
        "url": [f"https://example.org/{i}" for i in range(n)], "status": statuses,
        "http_status": pa.array([200] * n, pa.int32()), "detail": [""] * n, "final_url": [None] * n,
        "redirects": pa.array([0] * n, pa.int8()), "content_type": ["image/jpeg"] * n,
        "size": pa.array([1000] * n, pa.int64()),
    }, schema=SNAPSHOT_SCHEMA), paths.snapshot(shard, stamp))


def _assert_plain_png(png: bytes) -> None:
    assert png.startswith(b"\x89PNG") and len(png) < MAX_PNG_BYTES // 4
    assert b"tIME" not in png and b"Software" not in png and b"matplotlib" not in png.lower()
    Image.open(io.BytesIO(png)).verify()


def test_link_rot_reads_each_snapshot_and_sums_shards_per_day(tmp_path):
    paths = Cc3mPaths(tmp_path / "cc3m")
    _snapshot(paths, "00000", "20261101T040000Z", ["ok"] * 8 + ["timeout", "http_error"])
    _snapshot(paths, "00000", "20261108T040000Z", ["ok"] * 6 + ["http_error"] * 4)
    _snapshot(paths, "00001", "20261108T050000Z", ["ok"] * 3 + ["dns_failure"])
    _snapshot(paths, "00001", "20261108T090000Z", ["ok"] * 2 + ["dns_failure"] * 2)  # later the same day
    points = shard_points(paths, "00000")
    assert [p.when for p in points] == [datetime(2026, 11, 1, 4, tzinfo=timezone.utc),
                                        datetime(2026, 11, 8, 4, tzinfo=timezone.utc)]
    assert dict(points[1].counts) == {"ok": 6, "http_error": 4}
    days = all_shards_points(paths)
    assert [(dict(p.counts), p.label) for p in days] == [
        ({"ok": 8, "timeout": 1, "http_error": 1}, "1 shard"),
        ({"ok": 8, "http_error": 4, "dns_failure": 2}, "2 shards")]
    markdown = link_rot_markdown(paths, "00000")
    png = base64.b64decode(markdown.split("base64,", 1)[1].rstrip(")"))
    _assert_plain_png(png)
    assert markdown == link_rot_markdown(paths, "00000")
    assert subset_mark(paths) == {}
    paths.subset.write_bytes(b"subset")
    os.utime(paths.subset, (0, datetime(2026, 11, 5, 12, tzinfo=timezone.utc).timestamp()))
    assert subset_mark(paths) == {"subset written": datetime(2026, 11, 5, 12, tzinfo=timezone.utc)}
    assert link_rot_markdown(paths, "00000") != markdown  # the subset's date is drawn


def test_each_chart_is_the_same_bytes_for_the_same_numbers():
    rng = np.random.default_rng(0)
    synsets = pinned_synsets()
    drawings = [
        lambda: link_rot_png([ClassShares(datetime(2026, 11, d, tzinfo=timezone.utc), {"ok": 90 - d, "timeout": d})
                              for d in (1, 8, 15)], "t", {"subset written": datetime(2026, 11, 3, tzinfo=timezone.utc)}),
        lambda: link_rot_png([], "nothing yet"),
        lambda: owt_lengths_png({"train": rng.integers(2, 900, 5000), "valid": np.array([3, 4, 5])}),
        lambda: caption_lengths_png({"coco": np.bincount([12, 13, 64, 64], minlength=65)}, {"coco": 1}, 64),
        lambda: images_per_class_png({"train": rng.integers(700, 1300, 1000), "val": np.full(1000, 50)}, synsets),
    ]
    for draw in drawings:
        state = rng.bit_generator.state
        first = draw()
        rng.bit_generator.state = state
        assert draw() == first
        _assert_plain_png(first)


def test_owt_lengths_read_the_data_directory(tmp_path):
    for split, sizes in (("train", [3, 2, 40]), ("valid", [2])):
        with AtomicGroup() as group:
            writer = MMapWriter(tmp_path / split, group)
            writer.add_block(np.full(sum(sizes), 2, np.uint16), np.array(sizes, np.int32))
            writer.finish()
    assert owt_lengths_markdown(tmp_path, ["train", "valid"]) == owt_lengths_markdown(tmp_path, ["train", "valid"])
    sizes = {split: read_sizes(tmp_path / f"{split}.idx").tolist() for split in ("train", "valid")}
    assert sizes == {"train": [3, 2, 40], "valid": [2]}
    markdown = owt_lengths_markdown(tmp_path, ["train", "valid"])
    assert markdown.startswith("![OpenWebText sequence lengths](data:image/png;base64,")


def test_caption_lengths_count_the_captions_the_limit_cut(pictures_root, caption_encoder):
    layout = DataLayout(pictures_root)
    histograms, cut = caption_length_counts(layout.pairs.manifest, caption_encoder)
    assert list(histograms) == ["coco", "vg", "cc3m"]
    assert cut == {"coco": 1, "vg": 0, "cc3m": 0}
    assert histograms["coco"][MAX_CAPTION_TOKENS] == 1 and histograms["coco"].sum() == 11
    assert caption_encoder.encode([LONG_CAPTION]).truncated == 1


def test_images_per_class_follow_the_labels(tmp_path):
    write_parquet(pa.table({"split": ["train", "train", "val", "train"], "label": pa.array([0, 5, 5, 999], pa.int16())}),
                  tmp_path / "index.parquet")
    counts = images_per_class(tmp_path / "index.parquet")
    assert counts["train"].sum() == 3 and counts["train"][999] == 1 and counts["val"][5] == 1
    assert len(counts["val"]) == 1000


def test_markdown_refuses_a_picture_over_the_limit():
    with pytest.raises(ValueError, match="pictures in metadata must stay under"):
        markdown_image(b"x" * (MAX_PNG_BYTES + 1), "too big")
