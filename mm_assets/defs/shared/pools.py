"""Concurrency pools of the code location, created before any run claims one.

Dagster creates a pool's limit (the instance's default) the first time a step claims it. Two runs
that start together on a new PostgreSQL instance can both try, and one fails with a unique-key
violation on `concurrency_limits` (seen here with two celery runs). A deployment therefore creates
every pool when it starts: `python -m mm_assets.defs.shared.pools`, before the daemon
(docker-compose.yml). A pool that already has a limit is left as it is.
"""

import dagster as dg


def code_location_pools() -> list[str]:
    from mm_assets.definitions import defs

    return sorted({pool for asset in defs.assets if (pool := getattr(asset.op, "pool", None))})


def initialize_pools(instance: dg.DagsterInstance) -> dict[str, int]:
    """Give every pool of the code location its default limit unless it has one; pool -> slots."""
    storage = instance.event_log_storage
    existing = storage.get_concurrency_keys()
    for pool in code_location_pools():
        if pool not in existing:
            storage.initialize_concurrency_limit_to_default(pool)
    return {pool: storage.get_concurrency_info(pool).slot_count for pool in code_location_pools()}


if __name__ == "__main__":
    with dg.DagsterInstance.get() as instance:
        for pool, slots in initialize_pools(instance).items():
            print(f"pool {pool}: {slots} slots")
