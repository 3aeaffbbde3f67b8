"""Concurrency pools of the code location, created before any run claims one, some sized here.

Dagster creates a pool's limit (the instance's default) the first time a step claims it. Two runs
that start together on a new PostgreSQL instance can both try, and one fails with a unique-key
violation on `concurrency_limits` (seen here with two celery runs). A deployment therefore creates
every pool when it starts: `python -m mm_assets.defs.shared.pools`, before the daemon
(docker-compose.yml). A pool that already has a limit is left as it is, unless its limit is a
setting that is set.

Two pools are the CC3M crawl's, so that neither starves the other (docs/cc3m.md):
- `cc3m_crawl` (`cc3m_image_cache`): shards cached at once, sized from the cores this process
  may use (cgroup quota, then affinity: run it where the steps run): one shard keeps about
  1.3 cores busy (judging images, hashing, sockets, the tar), so `round(cores / 1.3)`, at least 1;
  `MM_CC3M_SHARDS_AT_ONCE` sets it instead (and is applied at every start).
- `cc3m_check` (`cc3m_availability`, and so the weekly re-check's one run per shard): the
  instance's default limit. Its runs wait in the queue, not in the crawl's slots: the daemon
  dequeues a run only when its step's pool has a free slot (`dagster.yaml`).
"""

from __future__ import annotations

import os

import dagster as dg

from mm_assets.common.parallel import default_workers

CC3M_CRAWL_POOL = "cc3m_crawl"
CC3M_CHECK_POOL = "cc3m_check"
SHARDS_AT_ONCE_VARIABLE = "MM_CC3M_SHARDS_AT_ONCE"
CORES_PER_CRAWL_SHARD = 1.3  # measured: one shard's image cache keeps 1.1-1.3 cores busy


def crawl_shards_at_once(cores: int) -> int:
    """How many CC3M shards to cache at once on `cores` cores."""
    return max(1, round(cores / CORES_PER_CRAWL_SHARD))


def sized_pool_limits(environ: dict[str, str] | None = None, cores: int | None = None) -> dict[str, tuple[int, bool]]:
    """pool -> (limit, set explicitly) for the pools sized here; a bad setting names the variable."""
    environ = os.environ if environ is None else environ
    text = environ.get(SHARDS_AT_ONCE_VARIABLE, "").strip()
    if text:
        if not (text.isdigit() and int(text) > 0):
            raise ValueError(f"{SHARDS_AT_ONCE_VARIABLE}={text!r}: expected a positive integer (CC3M shards cached "
                             "at once), or unset to size it from the cores")
        return {CC3M_CRAWL_POOL: (int(text), True)}
    return {CC3M_CRAWL_POOL: (crawl_shards_at_once(cores or default_workers()), False)}


def code_location_pools() -> list[str]:
    from mm_assets.definitions import defs

    return sorted({pool for asset in defs.assets if (pool := getattr(asset.op, "pool", None))})


def initialize_pools(instance: dg.DagsterInstance, environ: dict[str, str] | None = None,
                     cores: int | None = None) -> dict[str, int]:
    """Give every pool of the code location its limit unless it has one (a sized pool its size, an
    explicit setting always); pool -> slots."""
    storage = instance.event_log_storage
    existing = storage.get_concurrency_keys()
    sized = sized_pool_limits(environ, cores)
    for pool in code_location_pools():
        limit, explicit = sized.get(pool, (None, False))
        if limit is not None and (explicit or pool not in existing):
            storage.set_concurrency_slots(pool, limit)
        elif pool not in existing:
            storage.initialize_concurrency_limit_to_default(pool)
    return {pool: storage.get_concurrency_info(pool).slot_count for pool in code_location_pools()}


if __name__ == "__main__":
    with dg.DagsterInstance.get() as instance:
        for pool, slots in initialize_pools(instance).items():
            print(f"pool {pool}: {slots} slots")
