"""The CC3M chain through Dagster, in process and by the CLI, against an index and a server made
here: exactly the first N valid rows, the bytes served, checks that pass, shards kept on a rerun,
a clear failure when too few images are cached."""

import os

import dagster as dg
import pyarrow.parquet as pq
import pytest

from mm_assets.defs.cc3m.resources import Cc3mCrawl, Cc3mSource
from mm_assets.defs.shared.resources import HttpResource, StorageResource
from mm_assets.defs.tokenizer.resources import Gpt2BpeSource
from mm_assets.formats.webdataset import read_image
from mm_assets_tests.datasets.cc3m.served import expected_subset, served_bytes, served_sample
from mm_assets_tests.helpers import check_results, materialize, run_materialize_cli

pytestmark = pytest.mark.e2e
SHARD_SIZE, SUBSET = 25, 30


def _metadata(result, key):
    return result.asset_materializations_for_node(key)[0].metadata


def test_chain_in_process(tmp_path, bpe_dir):
    instance = dg.DagsterInstance.ephemeral()
    with served_sample(tmp_path, 75, seed=21) as served:
        resources = dict(
            storage=StorageResource(data_root=str(tmp_path / "data")),
            http=HttpResource(allow_private="1", timeout_s="0.5"),
            cc3m_source=Cc3mSource(index_url=str(served.index), shard_size=str(SHARD_SIZE), subset_size=str(SUBSET)),
            cc3m_crawl=Cc3mCrawl(concurrency="16", per_host="16"),
            gpt2_bpe_source=Gpt2BpeSource(url=str(bpe_dir)),
        )
        index = materialize(["gpt2_bpe", "cc3m_index"], instance=instance, **resources)
        assert _metadata(index, "cc3m_index")["shards"].value == 3
        assert "no shard checked yet" in _metadata(index, "cc3m_index")["shards_to_cache_why"].value
        assert sorted(instance.get_dynamic_partitions("cc3m_shards")) == ["00000", "00001", "00002"]
        with pytest.raises(dg.Failure, match="more shard"):
            materialize(["cc3m_image_cache"], partition_key="00000", instance=instance, **resources)
            materialize(["cc3m_subset"], instance=instance, **resources)
        for shard in ("00000", "00001", "00002"):
            result = materialize(["cc3m_availability", "cc3m_image_cache"], partition_key=shard, instance=instance,
                                 **resources)
            assert all(check.passed for check in check_results(result).values())
            checked = _metadata(result, "cc3m_availability")
            assert checked["shards_checked"].value == int(shard) + 1 and checked["shards_to_cache"].value >= 1
        rerun = materialize(["cc3m_image_cache"], partition_key="00000", instance=instance, **resources)
        assert _metadata(rerun, "cc3m_image_cache")["reused_existing_shard"].value is True
        bpe = resources["storage"].layout.gpt2_bpe_dir
        bpe.rename(bpe.with_name("moved"))
        with pytest.raises(dg.Failure, match="materialize gpt2_bpe first"):
            materialize(["cc3m_subset"], instance=instance, **resources)
        assert not (tmp_path / "data" / "cc3m" / "subset.parquet").exists()  # failed before writing
        bpe.with_name("moved").rename(bpe)
        subset = materialize(["cc3m_subset"], instance=instance, **resources)
    checks = check_results(subset)
    assert checks["subset_is_first_valid_rows"].passed
    expected = expected_subset(served.sample, shard_size=SHARD_SIZE, size=SUBSET, repeats=10)
    table = pq.read_table(tmp_path / "data" / "cc3m" / "subset.parquet")
    assert table["row_id"].to_pylist() == expected
    metadata = _metadata(subset, "cc3m_subset")
    assert (metadata["pairs"].value, metadata["highest_row_id"].value) == (SUBSET, expected[-1])
    assert metadata["mean_caption_gpt2_tokens"].value > metadata["mean_caption_words"].value > 3


def test_chain_by_the_cli_gives_the_first_valid_rows_and_the_bytes_served(tmp_path, bpe_dir):
    with served_sample(tmp_path, 75, seed=22) as served:
        env = {**os.environ, "MM_DATA_ROOT": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home"),
               "MM_CC3M_INDEX_URL": str(served.index), "MM_CC3M_SHARD_SIZE": str(SHARD_SIZE),
               "MM_CC3M_SUBSET_SIZE": str(SUBSET), "MM_HTTP_ALLOW_PRIVATE": "1", "MM_HTTP_TIMEOUT_S": "0.5",
               "MM_GPT2_BPE_URL": str(bpe_dir)}
        (tmp_path / "home").mkdir()
        run_materialize_cli(env, "--select", "gpt2_bpe,cc3m_index")
        for shard in ("00000", "00001", "00002"):
            run_materialize_cli(env, "--select", "cc3m_availability,cc3m_image_cache", "--partition", shard)
        run_materialize_cli(env, "--select", "cc3m_subset")
    root = tmp_path / "data"
    table = pq.read_table(root / "cc3m" / "subset.parquet")
    assert table["row_id"].to_pylist() == expected_subset(served.sample, shard_size=SHARD_SIZE, size=SUBSET, repeats=10)
    for row_id, shard, key in zip(*(table[name].to_pylist() for name in ("row_id", "shard", "key"))):
        _, data = read_image(root / "cc3m" / "images" / f"{shard}.tar", key)
        assert data == served_bytes(served.sample, served.sample.rows[row_id].path)
    ids = (root / "cc3m" / "subset_ids_urls.tsv").read_text().splitlines()[1:]
    assert ids == [f"{row_id}\t{served.urls[row_id]}" for row_id in table["row_id"].to_pylist()]
