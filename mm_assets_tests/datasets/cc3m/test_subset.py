"""The subset: the first N valid rows by row id, placeholders by repetition and learned hashes
decided over the shards drawn on, the same whatever order the shards were cached in."""

import hashlib
import random
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.cc3m.image_cache import cache_shard
from mm_assets.datasets.cc3m.index import read_shard, write_index
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules
from mm_assets.datasets.cc3m.subset import NotEnoughImages, select_subset, write_subset
from mm_assets.fetch.crawl import CrawlLimits
from mm_assets.fetch.http import FetchPolicy
from mm_assets.samples.cc3m.sample import Sample, SampleRow, make_image, placeholder_image
from mm_assets_tests.datasets.cc3m.served import served_sample

SHARD = 10
RULES = ImageRules()
# Shard 00000: rows 0-9, 00001: 10-19, 00002: 20-29. "P" serves the placeholder's bytes directly,
# "R" redirects to a placeholder location, "x" is a 404, "i" a real image.
LAYOUT = ("iPiixiPiii"  # 00000: 7 real images, 2 placeholder copies
          "iiRiixiiii"  # 00001: a placeholder redirect teaches the hash
          "iPiiPiiiix")  # 00002: two more copies


def _sample() -> Sample:
    rng = random.Random(3)
    rows, images = [], {}
    for row_id, kind in enumerate(LAYOUT):
        if kind == "i":
            name = f"{row_id:07d}.jpg"
            images[name] = make_image(rng, "JPEG", (64, 48), noise=0.2)
            rows.append(SampleRow(f"caption {row_id}", f"/img/{name}"))
        else:
            path = {"P": "/placeholder/", "R": "/to-placeholder/", "x": "/missing/"}[kind] + f"{row_id:07d}.jpg"
            rows.append(SampleRow(f"caption {row_id}", path))
    return Sample(rows, images, placeholder_image())


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """The three shards cached; returns their paths and the order-reversed copy."""
    directory = tmp_path_factory.mktemp("subset")
    with served_sample(directory, 0, sample=_sample()) as served:
        copies = []
        for name, order in (("forward", ["00000", "00001", "00002"]), ("reversed", ["00002", "00001", "00000"])):
            paths = Cc3mPaths(directory / name / "cc3m")
            write_index(served.index, paths.index, shard_size=SHARD, max_malformed=0)
            for shard in order:
                cache_shard(read_shard(paths.index, shard), shard, paths, policy=FetchPolicy(allow_private=True),
                            limits=CrawlLimits(timeout_s=2.0), rules=ImageRules(), workers=1)
            copies.append(paths)
        yield copies


def _ids(subset):
    return subset.table["row_id"].to_pylist()


def test_first_valid_rows_by_row_id_and_placeholder_copies_in_reach_of_a_redirect(shards):
    paths = shards[0]
    # 7 images in shard 00000; the two copies there are not learned yet (no redirect drawn on)
    # and 2 copies < 3 repeats: they count as images.
    subset = select_subset(paths, size=9, repeats=3, rules=RULES)
    assert _ids(subset) == [0, 1, 2, 3, 5, 6, 7, 8, 9] and subset.shards == ["00000"]
    # Twelve need shard 00001, whose redirect teaches the hash: both copies in 00000 go.
    subset = select_subset(paths, size=12, repeats=3, rules=RULES)
    assert _ids(subset) == [0, 2, 3, 5, 7, 8, 9, 10, 11, 13, 14, 16]
    assert subset.verdict.learned and subset.shards == ["00000", "00001"]
    assert subset.dropped["dropped_placeholder_learned"] == 2 and subset.dropped["dropped_placeholder"] == 1
    assert subset.table["key"].to_pylist()[0] == "000000000" and subset.table["shard"].to_pylist()[-1] == "00001"


def test_repetition_is_counted_over_the_shards_drawn_on(tmp_path, shards):
    paths = shards[0]
    # repeats=4: shards 00000-00001 hold 2 direct copies, too few; but the redirect's hash is learned.
    subset = select_subset(paths, size=18, repeats=4, rules=RULES)
    assert subset.shards == ["00000", "00001", "00002"]
    assert not {1, 6, 21, 24} & set(_ids(subset))
    placeholder = hashlib.sha256(placeholder_image()).hexdigest()
    # four direct copies and the redirect that reached the same bytes: five URLs
    assert subset.verdict.repeated == {placeholder: 5} and subset.verdict.learned == {placeholder}


def test_the_order_shards_were_cached_in_changes_nothing(shards):
    forward, backward = shards
    for size in (5, 12, 18):
        a = select_subset(forward, size=size, repeats=3, rules=RULES)
        b = select_subset(backward, size=size, repeats=3, rules=RULES)
        assert a.table.equals(b.table)
    write_subset(a, forward)
    write_subset(b, backward)
    assert forward.subset.read_bytes() == backward.subset.read_bytes()
    assert forward.subset_ids_urls.read_bytes() == backward.subset_ids_urls.read_bytes()
    lines = forward.subset_ids_urls.read_text().splitlines()
    assert lines[0] == "row_id\turl" and lines[1].startswith("0\thttp://127.0.0.1:")
    assert pq.read_table(forward.subset).column_names == ["row_id", "url", "caption", "shard", "key", "sha256",
                                                          "width", "height"]


def test_too_few_cached_images_say_how_many_more_shards(tmp_path, shards):
    paths = shards[0]
    with pytest.raises(NotEnoughImages, match=r"hold 22 valid images, 40 are wanted.*about 3 more shard\(s\)") as err:
        select_subset(paths, size=40, repeats=3, rules=RULES)
    assert "every shard of the index is cached" in str(err.value) and (err.value.have, err.value.more_shards) == (22, 3)
    partial = Cc3mPaths(tmp_path / "cc3m")  # the same shards, the middle one not cached
    shutil.copytree(paths.root, partial.root)
    partial.shard_index("00001").unlink()
    with pytest.raises(NotEnoughImages, match="shard 00001 is not cached"):
        select_subset(partial, size=12, repeats=3, rules=RULES)


def test_shards_cached_under_other_rules_do_not_count(shards):
    with pytest.raises(NotEnoughImages, match="shard 00000 was cached under other settings") as err:
        select_subset(shards[0], size=5, repeats=3, rules=ImageRules(min_side=64))
    assert err.value.have == 0


def test_shards_cached_from_another_index_of_the_same_shape_do_not_count(shards, tmp_path):
    paths = Cc3mPaths(tmp_path / "cc3m")
    shutil.copytree(shards[0].root, paths.root)
    table = pq.read_table(paths.index)
    urls = table["url"].to_pylist()
    urls[3] += "?another-index"
    index_metadata = pq.ParquetFile(paths.index).metadata.metadata
    with pq.ParquetWriter(paths.index, table.schema) as writer:
        writer.write_table(table.set_column(table.schema.get_field_index("url"), "url", pa.array(urls, pa.string())))
        writer.add_key_value_metadata({k: v for k, v in index_metadata.items() if k != b"ARROW:schema"})
    assert read_shard(paths.index, "00000").num_rows == SHARD  # the same shape, one URL changed
    with pytest.raises(NotEnoughImages, match="shard 00000 was cached under other settings"):
        select_subset(paths, size=5, repeats=3, rules=RULES)


def test_the_subset_check_streams_the_files_and_finds_each_difference(shards, tmp_path, monkeypatch):
    from mm_assets.datasets.cc3m import verify

    monkeypatch.setattr(verify, "BATCH_ROWS", 4)  # several batches even on these few rows
    paths = Cc3mPaths(tmp_path / "cc3m")
    shutil.copytree(shards[0].root, paths.root)
    paths.subset.unlink(missing_ok=True)  # an earlier test wrote one
    assert verify.subset_problems(paths, size=12, repeats=3, rules=RULES) == [
        f"{paths.subset} is missing: materialize cc3m_subset first"]
    write_subset(select_subset(paths, size=12, repeats=3, rules=RULES), paths)
    assert verify.subset_problems(paths, size=12, repeats=3, rules=RULES) == []
    assert "is not the first 13 valid rows" in verify.subset_problems(paths, size=13, repeats=3, rules=RULES)[0]
    good_tsv = paths.subset_ids_urls.read_bytes()
    lines = good_tsv.decode().splitlines(keepends=True)
    for damaged in (lines[:-1], lines + ["99\thttp://extra\n"], lines[:6] + [lines[6].replace("\t", "\t ")] + lines[7:]):
        paths.subset_ids_urls.write_text("".join(damaged))
        assert verify.subset_problems(paths, size=12, repeats=3, rules=RULES) == [
            "subset_ids_urls.tsv does not list the rows of subset.parquet"]
    paths.subset_ids_urls.write_bytes(good_tsv)
    table = pq.read_table(paths.subset)
    captions = table["caption"].to_pylist()
    captions[9] += " (edited)"  # in the third batch of four rows
    pq.write_table(table.set_column(2, "caption", pa.array(captions, pa.string())), paths.subset)
    problems = verify.subset_problems(paths, size=12, repeats=3, rules=RULES)
    assert len(problems) == 1 and "subset.parquet (12 rows) is not the first 12 valid rows" in problems[0]


def test_the_index_check_streams_the_index_and_finds_each_problem(shards, tmp_path, monkeypatch):
    from mm_assets.datasets.cc3m import verify

    monkeypatch.setattr(verify, "BATCH_ROWS", 7)  # an order broken across a batch boundary is seen too
    paths = Cc3mPaths(tmp_path / "cc3m")
    shutil.copytree(shards[0].root, paths.root)
    assert verify.index_problems(paths) == []
    table = pq.read_table(paths.index)
    metadata = {k: v for k, v in pq.ParquetFile(paths.index).metadata.metadata.items() if k != b"ARROW:schema"}
    ids, captions = table["row_id"].to_pylist(), table["caption"].to_pylist()
    ids[7], ids[6] = ids[6], ids[7]  # rows 6 and 7 swapped: the two sides of the first batch boundary
    captions[12] = "   "
    with pq.ParquetWriter(paths.index, table.schema) as writer:
        writer.write_table(pa.table({"row_id": ids, "caption": captions, "url": table["url"]}, schema=table.schema))
        writer.add_key_value_metadata(metadata)
    assert verify.index_problems(paths) == ["row ids are not strictly increasing (file order)",
                                            "1 rows with an empty caption"]
