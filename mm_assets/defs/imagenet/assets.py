"""ImageNet-1k: the shard list -> raw parquet shards -> each shard's images (one partition per shard each)
-> the merged index."""

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.released import ReleasedFile
from mm_assets.datasets.imagenet.extract import (
    PART_SCHEMA,
    Part,
    RawRecord,
    ShardExtractionError,
    extract_shard,
    image_problems,
    read_part,
)
from mm_assets.datasets.imagenet.index import (
    INDEX_SCHEMA,
    LABEL_REASONS,
    Dropped,
    ImagenetIndexError,
    merge_index,
    unreadable,
)
from mm_assets.datasets.imagenet.paths import SPLITS, ImagenetPaths
from mm_assets.datasets.imagenet.shards import Shard, ShardList, ShardListError, listed_files, shard_list, verify_shard
from mm_assets.datasets.imagenet.synsets import CLASS_COUNT, pinned_synsets
from mm_assets.defs.shared.inputs import missing_input
from mm_assets.defs.shared.metadata import records_table, table_metadata
from mm_assets.defs.shared.raw_files import fetch_or_reuse, release_raw_file
from mm_assets.defs.shared.resources import ComputeResource, HttpResource, StorageResource
from mm_assets.defs.shared.retry import retry_only_what_can_heal
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
        raise missing_input(path, "imagenet_shard_list")
    return ShardList.load(path)


@dg.asset(
    key="imagenet_shard_list",
    group_name="imagenet",
    kinds={"json"},
    description="The parquet shards of ILSVRC/imagenet-1k at MM_IMAGENET_URL: from the hub's API "
    "(with HF_TOKEN, each shard's size and sha256) or from a mirror's data/ folder; checked whole "
    "(every train and validation shard 0..M-1). Registers one imagenet_shards partition per shard "
    f"and removes stale ones ({RULES}, 'ImageNet').",
)
@retry_only_what_can_heal
def imagenet_shard_list(
    context: dg.AssetExecutionContext, storage: StorageResource, http: HttpResource, imagenet_source: ImagenetSource,
) -> dg.MaterializeResult:
    source = imagenet_source.url
    try:
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


def _shard_of(context: dg.AssetExecutionContext, shards: ShardList) -> Shard:
    name = context.partition_key
    by_name = shards.by_name()
    if name not in by_name:
        raise dg.Failure(f"shard {name} is not in the current shard list; materialize imagenet_shard_list "
                         "(it removes stale partitions)", allow_retries=False)
    return by_name[name]


def _intact_part(paths: ImagenetPaths, shards: ShardList, name: str, workers: int) -> tuple[Part | None, list[str]]:
    """The shard's current part and what is wrong with its images now (nothing: they are intact)."""
    part = read_part(paths.part(name))
    if part is None:
        return None, [f"{paths.part(name)} is missing or was made under other rules"]
    return part, image_problems(paths, part, [s.name for s in shards.shards], workers=workers)


@dg.asset(
    key="imagenet_raw",
    group_name="imagenet",
    partitions_def=imagenet_shards,
    deps=[imagenet_shard_list],
    kinds={"parquet"},
    pool="imagenet_download",
    description="One parquet shard of ILSVRC/imagenet-1k (hub: gated, HF_TOKEN needed), resumed "
    "with HTTP Range requests and renamed into place only once verified: the announced size, the "
    "sha256 the hub lists (and sends as X-Linked-ETag), and a parquet check (footer, columns "
    "image{bytes,path} and label, every row group decoded). With MM_RAW_FILES=release, a shard that "
    "imagenet_images extracted and then released is not fetched again while its images match the "
    f"sizes and sha256 recorded in its part ({RULES}, 'ImageNet'; docs/imagenet.md).",
)
@retry_only_what_can_heal
def imagenet_raw(
    context: dg.AssetExecutionContext, config: RawShardConfig, storage: StorageResource, http: HttpResource,
    compute: ComputeResource, imagenet_source: ImagenetSource,
) -> dg.MaterializeResult:
    shards = load_shard_list(storage)
    shard = _shard_of(context, shards)
    paths = storage.layout.imagenet
    dest = paths.raw_shard(shard.name)

    def images_stand(record: ReleasedFile) -> list[str]:
        if shard.sha256 and record.sha256 != shard.sha256:
            return [f"the hub now lists sha256 {shard.sha256} for {shard.hub_path}"]
        part, problems = _intact_part(paths, shards, shard.name, compute.worker_count)
        if part is not None and part.raw.sha256 != record.sha256:
            return [f"{paths.part(shard.name)} was made from another file"]
        return problems

    raw = fetch_or_reuse(context, http, imagenet_source.url, shard.hub_path, dest, verify=verify_shard,
                         expected_sha256=shard.sha256, force=config.force_download, outputs_stand=images_stand)
    rows = read_part(paths.part(shard.name)).raw.rows if raw.released else pq.ParquetFile(dest).metadata.num_rows
    return dg.MaterializeResult(metadata={**raw.asset_metadata(imagenet_source.url), "split": shard.split,
                                          "dagster/row_count": rows})


@dg.asset(
    key="imagenet_images",
    group_name="imagenet",
    partitions_def=imagenet_shards,
    deps=[imagenet_raw],
    kinds={"jpeg", "parquet"},
    description="One shard's images, bytes unchanged, in torchvision's ImageFolder layout "
    "(imagenet/{train,val}/<synset>/<original file name>), each checked (name, label, a full "
    "decode), written with fsync, read back and compared with its sha256; then the shard's part "
    "imagenet/index_parts/<shard>.parquet (its index rows, each image's size and sha256, what was left "
    "out, the raw file's size, sha256 and rows). A shard whose part and images are intact is kept; with "
    f"MM_RAW_FILES=release its raw parquet is then removed ({RULES}, 'ImageNet'; docs/imagenet.md).",
)
def imagenet_images(
    context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
) -> dg.MaterializeResult:
    shards = load_shard_list(storage)
    shard = _shard_of(context, shards)
    paths = storage.layout.imagenet
    raw = paths.raw_shard(shard.name)
    workers = compute.worker_count
    with sole_writer(context, paths.part(shard.name), paths.part(shard.name), paths.claims(shard.name)):
        record = RawRecord.of(raw) if raw.is_file() else None
        part = read_part(paths.part(shard.name))
        problems = [f"{paths.part(shard.name)} is missing or was made under other rules"] if part is None else (
            image_problems(paths, part, [s.name for s in shards.shards], workers=workers)
            if record is None or part.raw.same_file(record) else [f"{raw} is not the file the part was made from"])
        extracted = None
        if not problems:
            context.log.info(f"{shard.name}: its part and its {part.table.num_rows:,} images are intact; kept")
        elif record is None:
            raise missing_input(raw, "imagenet_raw", partition=shard.name,
                                detail=f"{problems[0]}; it fetches the shard again, then imagenet_images for it")
        else:
            try:
                extracted = extract_shard(shard, raw, paths, [s.name for s in shards.shards], workers=workers,
                                          log=context.log.info, record=record)
            except ShardExtractionError as exc:
                raise dg.Failure(str(exc), allow_retries=False) from exc
            part = extracted.part
        released = release_raw_file(context, storage, raw, "imagenet_raw", [paths.part(shard.name)]).get(
            "raw_file_released", False)
    label_problems = [d for d in part.dropped if d.reason in LABEL_REASONS]
    bad_images = [d for d in part.dropped if d.reason not in LABEL_REASONS]
    metadata: dict = {
        **table_metadata(paths.part(shard.name), PART_SCHEMA, part.table.num_rows),
        "split": shard.split,
        "images": part.table.num_rows,
        "images_bytes": int(pc.sum(part.table.column("size")).as_py() or 0),
        "left_out": len(part.dropped),
        "unreadable_images": len(bad_images),
        "label_disagreements": len(label_problems),
        "left_out_list": _dropped_table(part.dropped),
        "extracted": extracted is not None,
        "images_written": extracted.written if extracted else 0,
        "images_already_in_place": extracted.present if extracted else part.table.num_rows,
        "images_superseded_by_a_later_shard": extracted.superseded if extracted else 0,
        "raw_rows": part.raw.rows,
        "raw_bytes": part.raw.size,
        "raw_sha256": part.raw.sha256,
        "raw_released": released or not raw.exists(),
    }
    if part.raw.rows == 0:
        metadata["empty_because"] = f"the hub's file {shard.hub_path} holds no rows"
    for reason in sorted({d.reason for d in part.dropped}):
        metadata[f"dropped_{reason}"] = sum(1 for d in part.dropped if d.reason == reason)
    return dg.MaterializeResult(metadata=metadata)


DROPPED_LISTED = 50  # images left out listed in the metadata (all are in the part and in dropped.tsv)


def _dropped_table(items: list[Dropped]) -> dg.TableMetadataValue:
    return records_table({"shard": str, "row": int, "hub_name": str, "reason": str, "detail": str},
                         [(d.shard, d.row, d.hub_name, d.reason, d.detail[:120]) for d in items[:DROPPED_LISTED]])


def _per_class_table(summary) -> dg.TableMetadataValue:
    synsets = pinned_synsets()
    rows = []
    for split in SPLITS:
        counts = summary.per_class[split]
        present, low, high = summary.class_range(split)
        if not present:
            rows.append((split, 0, None, None, None, None))
            continue
        masked = counts.astype(float)
        masked[counts == 0] = float("inf")
        rows.append((split, present, low, synsets[int(masked.argmin())], high, synsets[int(counts.argmax())]))
    return records_table({"split": str, "classes": int, "fewest": int, "fewest_class": str, "most": int,
                          "most_class": str}, rows)


@dg.asset(
    key="imagenet_index",
    group_name="imagenet",
    deps=[imagenet_images],
    kinds={"parquet"},
    description="imagenet/index.parquet (split, path, synset, label, width, height): every shard's "
    "part (imagenet_images, one partition per shard) merged in shard order, train then validation, "
    "each shard's rows in file order; with imagenet/synsets.txt (line i: label i) and "
    "imagenet/dropped.tsv (every image left out, with its reason). The label is the 0-999 position of "
    "the synset in the sorted synset list, checked against the hub's label column and the synset in "
    f"the file name ({RULES}, 'ImageNet'; docs/imagenet.md).",
)
def imagenet_index(context: dg.AssetExecutionContext, storage: StorageResource) -> dg.MaterializeResult:
    shards = load_shard_list(storage)
    paths = storage.layout.imagenet
    try:
        with sole_writer(context, paths.index, paths.index, paths.synsets, paths.dropped):
            summary = merge_index(shards, paths)
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
        "images_per_class": _per_class_table(summary),
        "images_per_class_chart": dg.MetadataValue.md(images_per_class_markdown(paths.index)),
        "unreadable_images": len(bad_images),
        "unreadable": _dropped_table(bad_images),
        "label_disagreements": len(label_problems),
        "label_problems": _dropped_table(label_problems),
        "shards_merged": summary.shards,
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
