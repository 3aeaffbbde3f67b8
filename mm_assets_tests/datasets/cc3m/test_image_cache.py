"""The image cache of a shard against a real loopback server: every row's class, the bytes served,
webdataset's own reader, the same bytes whatever the completion order, and resume after a kill."""

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from mm_assets.common.journal import Journal
from mm_assets.datasets.cc3m.image_cache import (
    cache_shard,
    complete_shard_identity,
    partial_tar_path,
    shard_identity,
)
from mm_assets.datasets.cc3m.index import read_shard, write_index
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules
from mm_assets.fetch.content import sniff
from mm_assets.fetch.crawl import CrawlLimits
from mm_assets.fetch.http import FetchPolicy
from mm_assets.formats.webdataset import iter_samples, sample_key
from mm_assets.samples.cc3m.sample import generate_sample
from mm_assets_tests.datasets.cc3m.served import served_bytes, served_sample
from mm_assets_tests.helpers import REPO

POLICY = FetchPolicy(allow_private=True)
LIMITS = CrawlLimits(timeout_s=0.5, connect_timeout_s=0.5, concurrency=32, per_host=32)


def _cache(paths, shard="00000", limits=LIMITS, rules=ImageRules(), workers=2, **options):
    rows = read_shard(paths.index, shard)
    return cache_shard(rows, shard, paths, policy=POLICY, limits=limits, rules=rules, workers=workers, **options)


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """A 90-row sample in one shard, half of it failing, cached once."""
    directory = tmp_path_factory.mktemp("cc3m_cache")
    sample = generate_sample(90, seed=38, failure_share=0.5)  # a seed whose rows reach 12 classes
    with served_sample(directory, 90, sample=sample) as served:
        paths = Cc3mPaths(directory / "cc3m")
        write_index(served.index, paths.index, shard_size=100, max_malformed=0)
        summary = _cache(paths)
        yield served, paths, summary


def test_every_row_ends_in_its_class(cached):
    served, paths, summary = cached
    table = pq.read_table(paths.shard_index("00000"))
    assert table["status"].to_pylist() == served.expected()
    assert set(served.expected()) == {"ok", "http_error", "timeout", "connection_error", "too_many_redirects",
                                      "not_an_image", "bad_url", "robots_refused", "truncated", "too_small",
                                      "too_many_pixels", "placeholder"}
    assert table["row_id"].to_pylist() == list(range(90))
    assert summary.statuses["ok"] == served.expected().count("ok") == summary.images
    assert {key for key in summary.statuses.counts if key != "ok"} == {
        f"dropped_{status}" for status in set(served.expected()) - {"ok"}}
    assert not paths.shard_progress("00000").exists()  # the journal goes once the shard is written


def test_valid_images_are_the_bytes_served_with_caption_and_json(cached):
    served, paths, _ = cached

    samples = dict(iter_samples(paths.shard_tar("00000")))
    expected = {sample_key(row_id): row for row_id, row in enumerate(served.sample.rows)
                if served.expected()[row_id] == "ok"}
    assert list(samples) == list(expected)
    for key, row in expected.items():
        members = samples[key]
        extension = sniff(served_bytes(served.sample, row.path)).image_extension
        assert set(members) == {extension, "txt", "json"}
        assert members[extension] == served_bytes(served.sample, row.path)
        assert members["txt"].decode() == row.caption  # as in the index: not stripped
        record = json.loads(members["json"])
        assert record["row_id"] == int(key) and record["url"] == served.urls[int(key)]
        assert record["status"] == "ok" and record["bytes"] == len(members[extension])


@pytest.mark.e2e  # importing webdataset takes seconds
def test_webdataset_reads_the_shard(cached):
    webdataset = pytest.importorskip("webdataset")
    served, paths, _ = cached
    dataset = webdataset.WebDataset(str(paths.shard_tar("00000")), shardshuffle=False).decode("pil")
    seen = 0
    for sample in dataset:
        image = next(value for key, value in sample.items() if key in ("jpg", "png", "webp"))
        record = sample["json"]
        assert image.size == (record["width"], record["height"])
        assert sample["txt"] == served.sample.rows[record["row_id"]].caption
        seen += 1
    assert seen == served.expected().count("ok")


def test_a_complete_shard_records_what_it_is(cached):
    _, paths, _ = cached
    rows = read_shard(paths.index, "00000")
    assert complete_shard_identity(paths, "00000") == shard_identity("00000", rows, ImageRules())
    assert complete_shard_identity(paths, "00000") != shard_identity("00000", rows, ImageRules(min_side=64))


@pytest.mark.e2e
def test_same_bytes_whatever_the_concurrency_and_completion_order(tmp_path):
    """Random delays on every answer shuffle the completion order; 1, 4 and 64 in flight."""
    with served_sample(tmp_path, 60, seed=11, max_delay_s=0.03, delay_seed=1) as served:
        outputs = []
        for run, (concurrency, workers) in enumerate([(1, 1), (4, 2), (64, 3)]):
            paths = Cc3mPaths(tmp_path / f"run{run}" / "cc3m")
            write_index(served.index, paths.index, shard_size=30, max_malformed=0)
            limits = CrawlLimits(timeout_s=0.5, concurrency=concurrency, per_host=concurrency)
            for shard in ("00000", "00001"):
                _cache(paths, shard, limits=limits, workers=workers)
            outputs.append([(paths.shard_tar(s).read_bytes(), paths.shard_index(s).read_bytes())
                            for s in ("00000", "00001")])
    assert outputs[0] == outputs[1] == outputs[2]


def test_each_image_is_written_once_and_a_full_window_spills_to_the_same_bytes(tmp_path):
    """With room in memory no image goes to the journal (written once, into the tar); with none,
    every image that arrives before its turn is spilled and copied later: the same shard."""
    with served_sample(tmp_path, 60, seed=11, max_delay_s=0.03, delay_seed=3) as served:
        outputs, spilled = [], []
        for run, window in enumerate([64 << 20, 0]):
            paths = Cc3mPaths(tmp_path / f"run{run}" / "cc3m")
            write_index(served.index, paths.index, shard_size=60, max_malformed=0)
            summary = _cache(paths, limits=CrawlLimits(timeout_s=0.5, concurrency=16, per_host=16),
                             window_bytes=window)
            spilled.append(summary.spilled)
            outputs.append((paths.shard_tar("00000").read_bytes(), paths.shard_index("00000").read_bytes()))
            assert not paths.shard_progress("00000").exists() and not partial_tar_path(paths, "00000").exists()
    assert spilled[0] == 0 and spilled[1] > 0
    assert outputs[0] == outputs[1]


_CHILD = """
import sys
from pathlib import Path
from mm_assets.common.journal import Journal
from mm_assets.datasets.cc3m.image_cache import cache_shard
from mm_assets.datasets.cc3m.index import read_shard
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules
from mm_assets.samples.cc3m.sample import generate_sample
from mm_assets.fetch.content import sniff
from mm_assets.fetch.crawl import CrawlLimits
from mm_assets.fetch.http import FetchPolicy
paths = Cc3mPaths(Path(sys.argv[1]))
cache_shard(read_shard(paths.index, "00000"), "00000", paths, policy=FetchPolicy(allow_private=True),
            limits=CrawlLimits(timeout_s=0.5, concurrency=4, per_host=4), rules=ImageRules(), workers=1)
"""


@pytest.mark.e2e
def test_a_killed_run_resumes_without_fetching_stored_images_again(tmp_path):
    with served_sample(tmp_path, 80, seed=5, max_delay_s=0.1, delay_seed=2) as served:
        paths = Cc3mPaths(tmp_path / "killed" / "cc3m")
        write_index(served.index, paths.index, shard_size=80, max_malformed=0)
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(paths.root)], cwd=REPO,
                                 env={**os.environ, "PYTHONPATH": str(REPO)})
        journal, partial = paths.shard_progress("00000"), partial_tar_path(paths, "00000")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not partial.exists() or partial.stat().st_size < 60_000):
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)  # no chance to clean up, as an OOM kill or a lost node
        child.wait()
        assert not paths.shard_tar("00000").exists() and not paths.shard_index("00000").exists()
        rows = read_shard(paths.index, "00000")
        with Journal.open(journal, shard_identity("00000", rows, ImageRules())) as kept:
            done = {entry.header["row_id"] for entry in kept.entries}
            assert not any(entry.length for entry in kept.entries)  # no image bodies: they are in the tar
        stored = [row_id for row_id in done if served.expected()[row_id] == "ok"]
        assert stored and len(done) < 80
        served.requests.clear()
        summary = _cache(paths, limits=CrawlLimits(timeout_s=0.5, concurrency=16, per_host=16))
        assert (summary.resumed, summary.fetched) == (len(done), 80 - len(done))
        asked_again = {path for _, path in served.requests}
        assert not asked_again & {served.sample.rows[row_id].path for row_id in stored}
        fresh = Cc3mPaths(tmp_path / "fresh" / "cc3m")  # an uninterrupted run, for the bytes
        write_index(served.index, fresh.index, shard_size=80, max_malformed=0)
        _cache(fresh)
    assert paths.shard_tar("00000").read_bytes() == fresh.shard_tar("00000").read_bytes()
    assert paths.shard_index("00000").read_bytes() == fresh.shard_index("00000").read_bytes()
