"""Availability snapshots against a real loopback server: a class per row, a new dated file per
check (nothing overwritten), the history readable as one table."""

from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.cc3m.availability import check_shard, history_chart, shard_history
from mm_assets.datasets.cc3m.index import read_shard, write_index
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.fetch.crawl import CrawlLimits
from mm_assets.fetch.http import FetchPolicy
from mm_assets_tests.datasets.cc3m.served import expected_status, served_sample

# A check looks at headers and the first bytes only: what only the whole body shows (a cut body,
# an error page announced as an image with its length, a tiny image) passes a check.
CHECK_DIFFERS = {"html-as-image": "ok", "truncated": "ok", "partial-file": "ok", "tiny": "ok"}


def _expected_check(path: str) -> str:
    behaviour = path.lstrip("/").partition("/")[0]
    return CHECK_DIFFERS.get(behaviour, expected_status(path))


@pytest.mark.e2e
def test_snapshots_classify_every_row_and_are_never_overwritten(tmp_path):
    with served_sample(tmp_path, 70, seed=2) as served:
        paths = Cc3mPaths(tmp_path / "cc3m")
        write_index(served.index, paths.index, shard_size=100, max_malformed=0)
        rows = read_shard(paths.index, "00000")
        limits = CrawlLimits(timeout_s=0.5, concurrency=16)
        first = check_shard(rows, "00000", paths, policy=FetchPolicy(allow_private=True), limits=limits,
                            now=datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc))
        second = check_shard(rows, "00000", paths, policy=FetchPolicy(allow_private=True), limits=limits,
                             now=datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc))
        with pytest.raises(FileExistsError):
            check_shard(rows, "00000", paths, policy=FetchPolicy(allow_private=True), limits=limits,
                        now=datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc))
    assert first.path.name == "20261123T040000Z.parquet" and second.path.name == "20261130T040000Z.parquet"
    table = pq.read_table(first.path)
    got = dict(zip(table["row_id"].to_pylist(), table["status"].to_pylist()))
    for row_id, row in enumerate(served.sample.rows):
        if row.path.startswith("/cut/"):  # a chunked body cut short: caught if the cut is in the first bytes
            assert got[row_id] in ("ok", "truncated")
        else:
            assert got[row_id] == _expected_check(row.path), (row_id, row.path)
    assert set(table["snapshot"].to_pylist()) == {"20261123T040000Z"} and set(table["shard"].to_pylist()) == {"00000"}
    history = pq.read_table(paths.availability_dir)  # the whole history as one table
    assert history.num_rows == 140 and set(history["snapshot"].to_pylist()) == {"20261123T040000Z", "20261130T040000Z"}
    summaries = shard_history(paths, "00000")
    assert [s.stamp for s in summaries] == ["20261123T040000Z", "20261130T040000Z"]
    assert summaries[0].ok == first.ok == sum(1 for s in got.values() if s == "ok")
    chart = history_chart(summaries)
    assert chart.count("\n") == 3 and "█" in chart and f"{100 * summaries[0].rate:.1f} %" in chart


def test_shards_to_cache_come_from_the_latest_snapshot_of_each_shard_checked(tmp_path):
    import pyarrow as pa

    from mm_assets.datasets.cc3m.availability import shards_to_cache

    paths = Cc3mPaths(tmp_path / "cc3m")
    shards = [f"{n:05d}" for n in range(332)]
    before = shards_to_cache(paths, shards, size=500_000, shard_rows=10_000)
    assert (before.shards, before.shards_checked, before.available_share) == (112, 0, None)
    assert "no shard checked yet: at 50%-65% of the links alive, 86-112 shards" in before.describe(500_000)
    for shard, stamp, ok in (("00000", "20261123T040000Z", 20), ("00000", "20261130T040000Z", 70),
                             ("00001", "20261130T040000Z", 50)):
        paths.snapshots_of(shard).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"status": ["ok"] * ok + ["http_error"] * (100 - ok)}),
                       paths.snapshots_of(shard) / f"{stamp}.parquet")
    seen = shards_to_cache(paths, shards, size=500_000, shard_rows=10_000)
    # 120 of 200 available (the older snapshot of 00000 does not count), 90 % of those valid: 5,400 a shard
    assert (seen.rows_checked, seen.available, seen.shards_checked, seen.shards) == (200, 120, 2, 93)
    assert seen.describe(500_000).startswith("93 shards for 500,000 images: 60.0% of the 200 URLs checked in 2 shard(s)")
    few = shards_to_cache(paths, shards[:50], size=500_000, shard_rows=10_000)
    assert "more than the index has" in few.describe(500_000)
