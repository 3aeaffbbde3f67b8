"""ImageNet-1k: the shard list -> raw parquet shards (one partition each) -> the ImageFolder index."""

import dagster as dg
import pyarrow.parquet as pq

from mm_assets.datasets.imagenet.index import (
    INDEX_SCHEMA, LABEL_REASONS, ImagenetIndexError, build_index, dropped_table, unreadable,
)
from mm_assets.datasets.imagenet.paths import SPLITS
from mm_assets.datasets.imagenet.shards import ShardList, ShardListError, listed_files, shard_list, verify_shard
from mm_assets.datasets.imagenet.synsets import CLASS_COUNT, pinned_synsets
from mm_assets.defs.shared.metadata import table_metadata
from mm_assets.defs.shared.raw_files import fetch_or_reuse, verified_markdown
from mm_assets.defs.shared.resources import ComputeResource, HttpResource, StorageResource
from mm_assets.defs.shared.retry import NETWORK_RETRY_POLICY, retry_only_transient_download_errors
from mm_assets.defs.shared.writing import sole_writer
from mm_assets.fetch.hub import HubAccessError
from mm_assets.fetch.sources import is_remote
from mm_assets.pictures.readers import images_per_class_markdown

from .partitions import imagenet_shards
from .resources import ImagenetSource

RULES = "docs/data-rules.md"


def load_shard_list(storage: StorageResource) -> ShardList:
    path = storage.layout.imagenet.shard_list
    if not path.is_file():
        raise dg.Failure(f"{path} is missing; materialize imagenet_shard_list first", allow_retries=False)
    return ShardList.load(path)


@dg.asset(
    key="imagenet_shard_list",
    group_name="imagenet",
    kinds={"json"},
    retry_policy=NETWORK_RETRY_POLICY,
    description="The parquet shards of ILSVRC/imagenet-1k at MM_IMAGENET_URL: from the hub's API "
    "(with HF_TOKEN, each shard's size and sha256) or from a mirror's data/ folder; checked whole "
    "(every train and validation shard 0..M-1). Registers one imagenet_shards partition per shard "
    f"and removes stale ones ({RULES}, 'ImageNet').",
)
def imagenet_shard_list(
    context: dg.AssetExecutionContext, storage: StorageResource, http: HttpResource, imagenet_source: ImagenetSource,
) -> dg.MaterializeResult:
    source = imagenet_source.url
    try:
        with retry_only_transient_download_errors():
            files = listed_files(source, policy=http.policy(source), token_set=bool(http.hf_token))
        shards = shard_list(source, files)
    except (ShardListError, HubAccessError) as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    paths = storage.layout.imagenet
    shards.save(paths.shard_list)
    wanted = [shard.name for shard in shards.shards]
    registered = set(context.instance.get_dynamic_partitions(imagenet_shards.name))
    added = [key for key in wanted if key not in registered]
    stale = sorted(registered - set(wanted))
    context.instance.add_dynamic_partitions(imagenet_shards.name, added)
    for key in stale:
        context.instance.delete_dynamic_partition(imagenet_shards.name, key)
    if added or stale:
        context.log.info(f"imagenet_shards: {len(added)} partition(s) added, {len(stale)} stale removed")
    gated_without_token = is_remote(source) and not http.hf_token
    if gated_without_token:  # the hub lists a gated repository to anyone; its files need the token
        context.log.warning("HF_TOKEN is not set: the hub listed the shards, but ImageNet's files are gated, "
                            "so every imagenet_raw partition will fail until HF_TOKEN is set (see its message)")
    per_split = {split: sum(1 for s in shards.shards if s.hub_split == split) for split in ("train", "validation")}
    sizes = [s.size for s in shards.shards if s.size is not None]
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(paths.shard_list)),
        "source": source,
        "train_shards": per_split["train"],
        "validation_shards": per_split["validation"],
        "test_shards_not_used": shards.unused.get("test", 0),
        "bytes": sum(sizes),
        "sha256_known_for": sum(1 for s in shards.shards if s.sha256),
        "partitions_added": len(added),
        "partitions_removed": dg.MetadataValue.md(", ".join(stale) or "none"),
        "hf_token_missing_for_the_gated_files": gated_without_token,
        "dagster/row_count": len(shards.shards),
    })


class RawShardConfig(dg.Config):
    force_download: bool = False


@dg.asset(
    key="imagenet_raw",
    group_name="imagenet",
    partitions_def=imagenet_shards,
    deps=[imagenet_shard_list],
    kinds={"parquet"},
    pool="imagenet_download",
    retry_policy=NETWORK_RETRY_POLICY,
    description="One parquet shard of ILSVRC/imagenet-1k (hub: gated, HF_TOKEN needed), resumed "
    "with HTTP Range requests and renamed into place only once verified: the announced size, the "
    "sha256 the hub lists (and sends as X-Linked-ETag), and a parquet check (footer, columns "
    f"image{{bytes,path}} and label, every row group decoded) ({RULES}, 'ImageNet').",
)
def imagenet_raw(
    context: dg.AssetExecutionContext, config: RawShardConfig, storage: StorageResource, http: HttpResource,
    imagenet_source: ImagenetSource,
) -> dg.MaterializeResult:
    shards = load_shard_list(storage).by_name()
    name = context.partition_key
    if name not in shards:
        raise dg.Failure(f"shard {name} is not in the current shard list; materialize imagenet_shard_list "
                         "(it removes stale partitions)", allow_retries=False)
    shard = shards[name]
    dest = storage.layout.imagenet.raw_shard(name)
    raw = fetch_or_reuse(context, http, imagenet_source.url, shard.hub_path, dest, verify=verify_shard,
                         expected_sha256=shard.sha256, force=config.force_download)
    rows = pq.ParquetFile(dest).metadata.num_rows
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(dest)),
        "source": imagenet_source.url,
        "split": shard.split,
        "dagster/row_count": rows,
        **raw.metadata(),
        "verified": verified_markdown(raw.verified),
    })


def _per_class_table(summary) -> str:
    synsets = pinned_synsets()
    rows = ["| split | classes | fewest (class) | most (class) |", "| --- | --- | --- | --- |"]
    for split in SPLITS:
        counts = summary.per_class[split]
        present, low, high = summary.class_range(split)
        if not present:
            rows.append(f"| {split} | 0 | - | - |")
            continue
        masked = counts.astype(float)
        masked[counts == 0] = float("inf")
        rows.append(f"| {split} | {present} | {low:,} ({synsets[int(masked.argmin())]}) | "
                    f"{high:,} ({synsets[int(counts.argmax())]}) |")
    return "\n".join(rows)


@dg.asset(
    key="imagenet_index",
    group_name="imagenet",
    deps=[imagenet_raw],
    kinds={"parquet", "jpeg"},
    description="Every train and validation image, bytes unchanged, in torchvision's ImageFolder "
    "layout (imagenet/{train,val}/<synset>/<original file name>) and indexed in "
    "imagenet/index.parquet (split, path, synset, label, width, height). The label is the 0-999 "
    "position of the synset in the sorted synset list, checked against the hub's label column and "
    "the synset in the file name; images that do not decode fully are left out, counted and listed "
    f"(imagenet/dropped.tsv). Resumes shard by shard ({RULES}, 'ImageNet').",
)
def imagenet_index(
    context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
) -> dg.MaterializeResult:
    shards = load_shard_list(storage)
    paths = storage.layout.imagenet
    try:
        parts = [paths.part(shard.name) for shard in shards.shards]
        with sole_writer(context, paths.index, paths.index, paths.synsets, paths.dropped, *parts):
            summary = build_index(shards, paths, workers=compute.worker_count, log=context.log.info)
    except ImagenetIndexError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    label_problems = [d for d in summary.dropped if d.reason in LABEL_REASONS]
    bad_images = unreadable(summary)
    found = summary.synsets_found()
    synsets = pinned_synsets()
    derived = ("the sorted synsets found are exactly the pinned list" if found == list(synsets) else
               f"{len(found)} of the {CLASS_COUNT} pinned synsets found; labels keep their pinned positions")
    metadata: dict = {
        **table_metadata(paths.index, INDEX_SCHEMA, sum(summary.images.values())),
        "image_folders": dg.MetadataValue.path(str(paths.root)),
        "synset_list": dg.MetadataValue.path(str(paths.synsets)),
        "dropped_list": dg.MetadataValue.path(str(paths.dropped)),
        "classes_found": len(found),
        "synsets_vs_pinned_list": derived,
        "images_per_class": dg.MetadataValue.md(_per_class_table(summary)),
        "images_per_class_chart": dg.MetadataValue.md(images_per_class_markdown(paths.index)),
        "unreadable_images": len(bad_images),
        "unreadable": dg.MetadataValue.md(dropped_table(bad_images)),
        "label_disagreements": len(label_problems),
        "label_problems": dg.MetadataValue.md(dropped_table(label_problems)),
        "shards_indexed": summary.shards_done,
        "shards_kept_from_earlier_run": summary.shards_reused,
    }
    for split in SPLITS:
        present, low, high = summary.class_range(split)
        metadata[f"{split}_images"] = summary.images[split]
        metadata[f"{split}_classes"] = present
        metadata[f"{split}_images_per_class_min"] = low
        metadata[f"{split}_images_per_class_max"] = high
    for key, count in sorted(summary.tally.counts.items()):
        metadata[key] = count
    if label_problems:
        context.log.error(f"{len(label_problems)} image(s) left out because the hub's label, the file name "
                          f"and the synset list disagree; see {paths.dropped}")
    return dg.MaterializeResult(metadata=metadata)
