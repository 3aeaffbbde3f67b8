"""Every pool of the code location is created before any run: the CC3M crawl's sized from the
cores (or its setting), the others with the instance's default limit; the re-check has its own."""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from mm_assets.definitions import defs
from mm_assets.defs.shared.pools import (
    CC3M_CHECK_POOL,
    CC3M_CRAWL_POOL,
    code_location_pools,
    crawl_shards_at_once,
    initialize_pools,
)

POOLS = ["cc3m_check", "cc3m_crawl", "coco_download", "glue_download", "imagenet_download", "owt_download",
         "vg_download"]
REPO = Path(__file__).resolve().parents[3]


def test_the_code_locations_pools():
    assert code_location_pools() == POOLS


def test_the_recheck_and_the_image_cache_claim_different_pools():
    pools = {asset.key.to_user_string(): asset.op.pool for asset in defs.assets if hasattr(asset, "op")}
    assert pools["cc3m_availability"] == CC3M_CHECK_POOL != pools["cc3m_image_cache"] == CC3M_CRAWL_POOL
    job = defs.resolve_job_def("cc3m_availability_job")  # the recheck schedule's job
    assert [key.to_user_string() for key in job.asset_layer.executable_asset_keys] == ["cc3m_availability"]


@pytest.mark.parametrize("cores,shards", [(1, 1), (2, 2), (4, 3), (16, 12), (64, 49)])
def test_crawl_shards_at_once_follow_the_cores(cores, shards):
    assert crawl_shards_at_once(cores) == shards


def test_every_pool_gets_its_limit_and_a_set_one_is_kept():
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 2}}}) as instance:
        instance.event_log_storage.set_concurrency_slots("owt_download", 5)
        limits = initialize_pools(instance, environ={}, cores=16)
        assert limits == {pool: {"owt_download": 5, "cc3m_crawl": 12}.get(pool, 2) for pool in POOLS}
        assert set(instance.event_log_storage.get_concurrency_keys()) == set(POOLS)
        instance.event_log_storage.set_concurrency_slots("cc3m_crawl", 3)  # set by hand: kept on the next start
        assert initialize_pools(instance, environ={}, cores=16)["cc3m_crawl"] == 3
        # the setting wins at every start
        assert initialize_pools(instance, environ={"MM_CC3M_SHARDS_AT_ONCE": "6"}, cores=16)["cc3m_crawl"] == 6


def test_a_bad_shards_at_once_setting_names_the_variable():
    with dg.instance_for_test() as instance:
        with pytest.raises(ValueError, match=r"MM_CC3M_SHARDS_AT_ONCE='0': expected a positive integer"):
            initialize_pools(instance, environ={"MM_CC3M_SHARDS_AT_ONCE": "0"}, cores=2)


def test_the_instance_has_run_room_for_the_crawl_of_16_cores():
    """The run queue must not cap the crawl below its pool: 12 shards on 16 cores, the re-check's
    slots and one more run."""
    concurrency = yaml.safe_load((REPO / "dagster.yaml").read_text())["concurrency"]
    assert concurrency["runs"]["max_concurrent_runs"] >= crawl_shards_at_once(16) + concurrency["pools"]["default_limit"] + 1
    assert concurrency["pools"]["granularity"] == "op"
