"""CC3M checks: the invariants the pair manifest and the training loaders rely on.

Each runs the plain check of `mm_assets.datasets.cc3m.verify` and reports what it found as a
failed check (never a crash), with what to materialize again.
"""

import dagster as dg

from mm_assets.datasets.cc3m import verify
from mm_assets.defs.shared.metadata import check_result
from mm_assets.defs.shared.resources import StorageResource

from .resources import Cc3mCrawl, Cc3mSource


def _guarded(run) -> dg.AssetCheckResult:
    try:
        return run()
    except Exception as exc:  # an unreadable file is a failed check, not a crash
        return check_result([f"the check could not read the files: {type(exc).__name__}: {exc}"])


@dg.asset_check(asset="cc3m_index", name="row_ids_in_file_order",
                description="Row ids strictly increase, stay below the index's line count, and every row "
                "has a caption and a URL.")
def row_ids_in_file_order(storage: StorageResource) -> dg.AssetCheckResult:
    return _guarded(lambda: check_result(verify.index_problems(storage.layout.cc3m)))


@dg.asset_check(asset="cc3m_availability", name="snapshot_covers_shard",
                description="The shard's latest snapshot classifies each of its rows once, with the index's URL.")
def snapshot_covers_shard(context: dg.AssetCheckExecutionContext, storage: StorageResource) -> dg.AssetCheckResult:
    if not context.has_partition_key:
        return check_result(["run per partition (shard)"])
    return _guarded(lambda: check_result(verify.snapshot_problems(storage.layout.cc3m, context.partition_key)))


@dg.asset_check(asset="cc3m_image_cache", name="shard_tar_matches_index",
                description="The shard's tar holds exactly its `ok` rows, in row order, each image with the "
                "size and sha256 the parquet index records, its caption and its JSON.")
def shard_tar_matches_index(context: dg.AssetCheckExecutionContext, storage: StorageResource) -> dg.AssetCheckResult:
    if not context.has_partition_key:
        return check_result(["run per partition (shard)"])

    def run():
        problems, samples = verify.shard_problems(storage.layout.cc3m, context.partition_key)
        return check_result(problems, samples=samples)
    return _guarded(run)


@dg.asset_check(asset="cc3m_subset", name="subset_is_first_valid_rows",
                description="subset.parquet is the first MM_CC3M_SUBSET_SIZE valid rows made again from the "
                "cached shards, the TSV lists the same rows, and every image reference resolves.")
def subset_is_first_valid_rows(storage: StorageResource, cc3m_source: Cc3mSource,
                               cc3m_crawl: Cc3mCrawl) -> dg.AssetCheckResult:
    return _guarded(lambda: check_result(verify.subset_problems(
        storage.layout.cc3m, size=cc3m_source.integer("subset_size"),
        repeats=cc3m_crawl.integer("placeholder_repeats"), rules=cc3m_crawl.image_rules())))
