"""CC3M: the URL index -> availability snapshots and the image cache per shard -> the subset."""

from urllib.parse import urlsplit

import dagster as dg

from mm_assets.common.locks import describe_owner
from mm_assets.datasets.cc3m.availability import check_shard, history_chart, shard_history, shards_to_cache
from mm_assets.datasets.cc3m.image_cache import (
    SHARD_SCHEMA,
    cache_shard,
    complete_shard_identity,
    shard_identity,
    stored_shard_summary,
)
from mm_assets.datasets.cc3m.index import (
    INDEX_SCHEMA,
    IndexFileError,
    read_index_info,
    read_shard,
    verify_index_file,
    write_index,
)
from mm_assets.datasets.cc3m.rules import STATUSES
from mm_assets.datasets.cc3m.shards import shard_keys
from mm_assets.datasets.cc3m.subset import SUBSET_SCHEMA, NotEnoughImages, select_subset, write_subset
from mm_assets.defs.shared.inputs import gpt2_bpe_files, missing_input
from mm_assets.defs.shared.metadata import records_table, table_metadata, tally_table
from mm_assets.defs.shared.pools import CC3M_CHECK_POOL, CC3M_CRAWL_POOL
from mm_assets.defs.shared.resources import ComputeResource, HttpResource, StorageResource
from mm_assets.defs.shared.retry import retry_only_what_can_heal
from mm_assets.defs.shared.writing import sole_writer
from mm_assets.fetch.sources import fetch_file, is_remote, local_path
from mm_assets.pictures.readers import all_shards_link_rot_markdown, link_rot_markdown
from mm_assets.text.encode import FairseqGpt2Encoder

from .partitions import CC3M_SHARDS, cc3m_shards
from .resources import Cc3mCrawl, Cc3mSource

RULES = "docs/data-rules.md"


def _require_index(storage: StorageResource):
    index = storage.layout.cc3m.index
    if not index.is_file():
        raise missing_input(index, "cc3m_index")
    return index


def _status_counts(counts) -> dict[str, int]:
    """Every class as a number (zeros too, so the UI plots each class across materializations)."""
    values = {"ok": counts["ok"]}
    values.update({f"dropped_{status}": counts[f"dropped_{status}"] for status in STATUSES if status != "ok"})
    return values


@dg.asset(
    key="cc3m_index",
    group_name="cc3m",
    kinds={"parquet"},
    description="Google's CC3M training index (caption TAB url, no header) from MM_CC3M_INDEX_URL, "
    "read with quoting off; row ids are 0-based line numbers. Registers the shard partitions "
    f"`cc3m_shards` ({RULES}, 'CC3M index').",
)
@retry_only_what_can_heal
def cc3m_index(
    context: dg.AssetExecutionContext, storage: StorageResource, http: HttpResource, cc3m_source: Cc3mSource,
) -> dg.MaterializeResult:
    paths = storage.layout.cc3m
    source = cc3m_source.index_url.strip()
    if is_remote(source):
        name = urlsplit(source).path.rsplit("/", 1)[-1] or "index.tsv"
        base = source[: source.rindex("/")]
    else:
        file = local_path(source)
        if not file.is_file():
            raise dg.Failure(f"MM_CC3M_INDEX_URL={source!r}: no such file", allow_retries=False)
        name, base = file.name, str(file.parent)
    raw = paths.raw_dir / name
    fetched = fetch_file(base, name, raw, policy=http.policy(source), log=context.log.info,
                         verify=verify_index_file, owner=describe_owner(context.run.run_id))
    shard_size = cc3m_source.integer("shard_size")
    with sole_writer(context, paths.index):
        try:
            summary = write_index(raw, paths.index, shard_size=shard_size,
                                  max_malformed=cc3m_source.integer("max_malformed_rows"))
        except IndexFileError as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc
    keys = shard_keys(summary.lines, shard_size)
    registered = set(context.instance.get_dynamic_partitions(CC3M_SHARDS))
    stale = sorted(registered - set(keys))
    for key in stale:  # a shorter index, or another shard size: those shards no longer exist
        context.instance.delete_dynamic_partition(CC3M_SHARDS, key)
    context.instance.add_dynamic_partitions(CC3M_SHARDS, [key for key in keys if key not in registered])
    context.log.info(f"{len(keys):,} shards of {shard_size:,} rows registered as partitions of {CC3M_SHARDS}"
                     + (f"; {len(stale)} stale shard(s) removed" if stale else ""))
    to_cache = _shards_to_cache_metadata(context, paths, keys, cc3m_source, shard_size)
    return dg.MaterializeResult(metadata={
        **table_metadata(paths.index, INDEX_SCHEMA, summary.rows),
        "source": source,
        "source_sha256": fetched.sha256,
        "source_bytes": fetched.size,
        "lines": summary.lines,
        "rows": summary.rows,
        "malformed_rows": summary.malformed.total,
        **{f"dropped_{reason}": count for reason, count in sorted(summary.malformed.counts.items())},
        "malformed": records_table({"row_id": int, "reason": str, "line_starts": str}, summary.malformed.listed),
        "shard_size": shard_size,
        "shards": len(keys),
        **to_cache,
    })


def _shards_to_cache_metadata(context, paths, keys: list[str], cc3m_source: Cc3mSource, shard_size: int) -> dict:
    """How many shards to cache for MM_CC3M_SUBSET_SIZE images, at the availability the snapshots saw."""
    size = cc3m_source.integer("subset_size")
    estimate = shards_to_cache(paths, keys, size=size, shard_rows=shard_size)
    context.log.info(f"shards to cache: {estimate.describe(size)}")
    share = estimate.available_share
    return {
        "shards_to_cache": estimate.shards,
        "shards_to_cache_why": estimate.describe(size),
        "available_share_seen": round(share, 4) if share is not None else dg.MetadataValue.null(),
        "shards_checked": estimate.shards_checked,
    }


@dg.asset(
    key="cc3m_availability",
    group_name="cc3m",
    partitions_def=cc3m_shards,
    deps=[cc3m_index],
    kinds={"parquet"},
    pool=CC3M_CHECK_POOL,
    description="Every URL of the shard checked (HEAD, or a small ranged GET where HEAD is refused "
    "or not definite) and classified; kept as a new dated snapshot under "
    f"cc3m/availability/<shard>/, never overwritten ({RULES}, 'CC3M availability').",
)
@retry_only_what_can_heal
def cc3m_availability(
    context: dg.AssetExecutionContext, storage: StorageResource, http: HttpResource, cc3m_crawl: Cc3mCrawl,
    cc3m_source: Cc3mSource,
) -> dg.MaterializeResult:
    shard = context.partition_key
    paths = storage.layout.cc3m
    rows = _shard_rows(storage, shard)
    limits = cc3m_crawl.limits(timeout_s=http.total_timeout_s, connect_timeout_s=http.connect_timeout_s)
    with sole_writer(context, paths.snapshots_of(shard)):
        snapshot = check_shard(rows, shard, paths, policy=http.crawl_policy(), limits=limits, log=context.log.info)
    history = shard_history(paths, shard)
    info = read_index_info(paths.index)
    to_cache = _shards_to_cache_metadata(context, paths, shard_keys(info.lines, info.shard_size), cc3m_source,
                                         info.shard_size)
    return dg.MaterializeResult(metadata={
        **to_cache,
        **table_metadata(snapshot.path, snapshot.table.schema, snapshot.checked),
        "snapshot": snapshot.stamp,
        "checked": snapshot.checked,
        **_status_counts(snapshot.statuses),
        "success_rate": round(snapshot.ok / snapshot.checked, 4) if snapshot.checked else 0.0,
        "urls_per_second": round(snapshot.checked / snapshot.seconds, 1) if snapshot.seconds else 0.0,
        "seconds": round(snapshot.seconds, 2),
        "seconds_until_last_answer": round(snapshot.answered_s, 2),  # the rest waited for timeouts
        "snapshots": len(history),
        "availability_over_snapshots": dg.MetadataValue.md(history_chart(history)),
        "link_rot": dg.MetadataValue.md(link_rot_markdown(paths, shard)),
        "link_rot_all_shards": dg.MetadataValue.md(all_shards_link_rot_markdown(paths)),
        "failures": tally_table(snapshot.statuses),
    })


class ImageCacheConfig(dg.Config):
    force_download: bool = False  # fetch every image again even when the shard is complete


@dg.asset(
    key="cc3m_image_cache",
    group_name="cc3m",
    partitions_def=cc3m_shards,
    deps=[cc3m_index],
    kinds={"webdataset", "parquet"},
    pool=CC3M_CRAWL_POOL,
    description="The shard's images, fetched and kept only when valid (status 200, sniffed, fully "
    "decoded, size and pixel caps, not a known placeholder), stored as served in "
    "cc3m/images/<shard>.tar (webdataset: <key>.<ext>, .txt, .json) with cc3m/images/<shard>.parquet "
    f"listing every row and its status; resumed after a kill ({RULES}, 'CC3M image cache').",
)
@retry_only_what_can_heal
def cc3m_image_cache(
    context: dg.AssetExecutionContext, config: ImageCacheConfig, storage: StorageResource, http: HttpResource,
    compute: ComputeResource, cc3m_crawl: Cc3mCrawl,
) -> dg.MaterializeResult:
    shard = context.partition_key
    paths = storage.layout.cc3m
    rows = _shard_rows(storage, shard)
    rules = cc3m_crawl.image_rules()
    tar, index = paths.shard_tar(shard), paths.shard_index(shard)
    with sole_writer(context, tar, tar, index):
        kept = complete_shard_identity(paths, shard) == shard_identity(shard, rows, rules) and not config.force_download
        if kept:
            context.log.info(f"shard {shard} is complete under the same rules; kept (force_download=True fetches it again)")
            return dg.MaterializeResult(metadata=_kept_shard_metadata(paths, shard))
        if config.force_download:
            paths.shard_progress(shard).unlink(missing_ok=True)
        limits = cc3m_crawl.limits(timeout_s=http.total_timeout_s, connect_timeout_s=http.connect_timeout_s)
        summary = cache_shard(rows, shard, paths, policy=http.crawl_policy(), limits=limits, rules=rules,
                              workers=compute.worker_count, log=context.log.info)
    return dg.MaterializeResult(metadata={
        **table_metadata(index, SHARD_SCHEMA, summary.rows),
        "shard_tar": dg.MetadataValue.path(str(tar)),
        "images": summary.images,
        "image_bytes": summary.image_bytes,
        **_status_counts(summary.statuses),
        "valid_share": round(summary.images / summary.rows, 4) if summary.rows else 0.0,
        "fetched_by_this_run": summary.fetched,
        "resumed_from_journal": summary.resumed,
        "images_per_second": round(summary.images / summary.seconds, 1) if summary.seconds else 0.0,
        "seconds": round(summary.seconds, 2),
        "seconds_until_last_answer": round(summary.answered_s, 2),  # the rest waited for timeouts
        "failures": tally_table(summary.statuses),
    })


def _kept_shard_metadata(paths, shard: str) -> dict:
    summary = stored_shard_summary(paths, shard)
    return {
        **table_metadata(paths.shard_index(shard), SHARD_SCHEMA, summary.rows),
        "shard_tar": dg.MetadataValue.path(str(paths.shard_tar(shard))),
        "images": summary.images,
        "image_bytes": summary.image_bytes,
        **_status_counts(summary.statuses),
        "valid_share": round(summary.images / summary.rows, 4) if summary.rows else 0.0,
        "fetched_by_this_run": 0,
        "reused_existing_shard": True,
    }


def _shard_rows(storage: StorageResource, shard: str):
    try:
        return read_shard(_require_index(storage), shard)
    except IndexFileError as exc:
        raise dg.Failure(f"{exc}; materialize cc3m_index again if the index changed", allow_retries=False) from exc


@dg.asset(
    key="cc3m_subset",
    group_name="cc3m",
    deps=[cc3m_image_cache, "gpt2_bpe"],
    kinds={"parquet"},
    description="The first MM_CC3M_SUBSET_SIZE rows by row id whose image is cached and valid, "
    "placeholders by repetition decided over the shards drawn on; cc3m/subset.parquet and "
    f"cc3m/subset_ids_urls.tsv for publication ({RULES}, 'CC3M subset').",
)
def cc3m_subset(
    context: dg.AssetExecutionContext, storage: StorageResource, cc3m_source: Cc3mSource, cc3m_crawl: Cc3mCrawl,
) -> dg.MaterializeResult:
    layout = storage.layout
    paths = layout.cc3m
    _require_index(storage)
    encoder = FairseqGpt2Encoder(gpt2_bpe_files(layout))  # before anything is written: the token figures need them
    size = cc3m_source.integer("subset_size")
    try:
        subset = select_subset(paths, size=size, repeats=cc3m_crawl.integer("placeholder_repeats"),
                               rules=cc3m_crawl.image_rules())
    except NotEnoughImages as exc:
        raise dg.Failure(str(exc), allow_retries=False, metadata={
            "valid_images": exc.have, "more_shards_needed": exc.more_shards if exc.more_shards is not None else -1,
        }) from exc
    with sole_writer(context, paths.subset, paths.subset, paths.subset_ids_urls):
        write_subset(subset, paths)
    captions = [caption.strip() for caption in subset.table["caption"].to_pylist()]
    words = sum(len(caption.split()) for caption in captions)
    _, sizes, _ = encoder.encode_block(("\n".join(captions) + "\n").encode("utf-8"))
    bpe_tokens = int(sizes.sum()) - len(sizes)  # without the </s> the block encoding appends
    pairs = subset.table.num_rows
    return dg.MaterializeResult(metadata={
        **table_metadata(paths.subset, SUBSET_SCHEMA, pairs),
        "ids_urls": dg.MetadataValue.path(str(paths.subset_ids_urls)),
        "pairs": pairs,
        "images": len(set(subset.table["sha256"].to_pylist())),
        "mean_caption_words": round(words / pairs, 2),
        "mean_caption_gpt2_tokens": round(bpe_tokens / pairs, 2),
        "highest_row_id": subset.highest_row_id,
        "shards_drawn_on": len(subset.shards),
        "last_shard": subset.shards[-1],
        "placeholder_hashes_repeated": len(subset.verdict.repeated),
        "placeholder_hashes_learned": len(subset.verdict.learned),
        **{key: count for key, count in sorted(subset.dropped.counts.items())},
        "dropped": tally_table(subset.dropped),
    })
