"""Every pool of the code location is created, with the instance's default limit, before any run."""

import dagster as dg

from mm_assets.defs.shared.pools import code_location_pools, initialize_pools

POOLS = ["cc3m_crawl", "coco_download", "glue_download", "imagenet_download", "owt_download", "vg_download"]


def test_the_code_locations_pools():
    assert code_location_pools() == POOLS


def test_every_pool_gets_the_default_limit_and_a_set_one_is_kept():
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 2}}}) as instance:
        instance.event_log_storage.set_concurrency_slots("owt_download", 5)
        assert initialize_pools(instance) == {pool: 5 if pool == "owt_download" else 2 for pool in POOLS}
        assert set(instance.event_log_storage.get_concurrency_keys()) == set(POOLS)
