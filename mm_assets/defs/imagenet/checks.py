"""ImageNet's checks: what a training run relies on, recomputed from what is on disk."""

import os
from collections import defaultdict

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.datasets.imagenet.extract import image_problems, read_part
from mm_assets.datasets.imagenet.index import LABEL_REASONS
from mm_assets.datasets.imagenet.paths import SPLITS, ImagenetPaths
from mm_assets.datasets.imagenet.shards import ShardList
from mm_assets.datasets.imagenet.synsets import CLASS_COUNT, label_of_synset
from mm_assets.defs.shared.inputs import missing_input_check
from mm_assets.defs.shared.metadata import check_result
from mm_assets.defs.shared.resources import ComputeResource, StorageResource

# What the real ILSVRC 2012 data holds (the hub's train and validation splits).
OFFICIAL_SIZES = {"train": 1_281_167, "val": 50_000}
REDO = "materialize imagenet_index again"
REDO_RAW = "with a released raw file, imagenet_raw for it first: it fetches the shard again"


@dg.asset_check(
    asset="imagenet_images", name="images_match_recorded_hashes", blocking=True,
    description="Per shard: every image the shard wrote is in its folder with the size and sha256 its "
    "part records (taken from the raw bytes), and the raw file's rows equal the images kept plus the "
    "images left out. This is what proves a shard whose raw parquet was released.",
)
def images_match_recorded_hashes(context: dg.AssetCheckExecutionContext, storage: StorageResource,
                                 compute: ComputeResource) -> dg.AssetCheckResult:
    if not context.has_partition_key:
        return check_result(["run per partition (shard)"])
    paths = storage.layout.imagenet
    name = context.partition_key
    redo = f"materialize imagenet_images for {name} again ({REDO_RAW})"
    part = read_part(paths.part(name))
    if part is None or not paths.shard_list.is_file():
        return missing_input_check(paths.part(name), "imagenet_images", partition=name, detail=REDO_RAW)
    order = [shard.name for shard in ShardList.load(paths.shard_list).shards]
    problems = image_problems(paths, part, order, workers=compute.worker_count)
    if part.raw.rows != part.table.num_rows + len(part.dropped):
        problems.append(f"{part.raw.rows:,} raw rows, but {part.table.num_rows:,} kept + {len(part.dropped):,} "
                        "left out")
    if problems:
        problems.append(redo)
    return check_result(problems, images_checked=part.table.num_rows, raw_file_present=paths.raw_shard(name).is_file())


def _index(paths: ImagenetPaths) -> pa.Table | None:
    return pq.read_table(paths.index) if paths.index.is_file() else None


def _missing(paths: ImagenetPaths) -> dg.AssetCheckResult:
    return missing_input_check(paths.index, "imagenet_index")


def _dropped_rows(paths: ImagenetPaths) -> list[list[str]]:
    """The fields of each row of dropped.tsv (shard, row, hub name, reason, ...), header left out."""
    if not paths.dropped.is_file():
        return []
    lines = paths.dropped.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t") for line in lines if line]


@dg.asset_check(
    asset="imagenet_index", name="labels_agree_with_synsets", blocking=True,
    description="Every indexed image's label is its synset's position in the pinned sorted list, its "
    "folder is that synset, and no image was left out because the hub's label, its file name and "
    "the synset list disagree.",
)
def labels_agree_with_synsets(storage: StorageResource) -> dg.AssetCheckResult:
    paths = storage.layout.imagenet
    table = _index(paths)
    if table is None:
        return _missing(paths)
    lookup = label_of_synset()
    synsets = table.column("synset").to_pylist()
    labels = table.column("label").to_pylist()
    folders = [path.rsplit("/", 2)[-2] for path in table.column("path").to_pylist()]
    wrong = [i for i, (synset, label, folder) in enumerate(zip(synsets, labels, folders))
             if lookup.get(synset) != label or folder != synset]
    disagreements = [row[3] for row in _dropped_rows(paths) if row[3] in LABEL_REASONS]
    problems = []
    if wrong:
        problems.append(f"{len(wrong)} indexed row(s) with a label or folder that is not their synset's, "
                        f"first row {wrong[0]}; {REDO}")
    if disagreements:
        problems.append(f"{len(disagreements)} image(s) left out for a label disagreement "
                        f"({', '.join(sorted(set(disagreements)))}); see {paths.dropped}")
    return check_result(problems, rows_checked=table.num_rows)


@dg.asset_check(
    asset="imagenet_index", name="every_row_accounted_for", blocking=True,
    description="The raw shards' rows (train and validation, as recorded in each shard's part when it "
    "was extracted) equal the images indexed plus the images left out, per split: nothing was lost "
    "silently.",
)
def every_row_accounted_for(storage: StorageResource) -> dg.AssetCheckResult:
    paths = storage.layout.imagenet
    table = _index(paths)
    if table is None or not paths.shard_list.is_file():
        return _missing(paths)
    shards = ShardList.load(paths.shard_list)
    raw: dict[str, int] = defaultdict(int)
    for shard in shards.shards:
        part = read_part(paths.part(shard.name))  # the raw file's rows, recorded (it may be released)
        if part is None:
            return missing_input_check(paths.part(shard.name), "imagenet_images", partition=shard.name)
        raw[shard.split] += part.raw.rows
    shard_split = {shard.name: shard.split for shard in shards.shards}
    dropped: dict[str, int] = defaultdict(int)
    for row in _dropped_rows(paths):
        dropped[shard_split.get(row[0], "unknown")] += 1
    indexed = {split: int(pc.sum(pc.equal(table.column("split"), split)).as_py() or 0) for split in SPLITS}
    problems = [f"{split}: {raw[split]:,} raw rows, but {indexed[split]:,} indexed + {dropped[split]:,} "
                f"left out; {REDO}" for split in SPLITS if raw[split] != indexed[split] + dropped[split]]
    metadata = {f"{split}_{what}": value for split in SPLITS
                for what, value in (("raw_rows", raw[split]), ("indexed", indexed[split]), ("left_out", dropped[split]))}
    return check_result(problems, **metadata)


@dg.asset_check(
    asset="imagenet_index", name="folders_match_index", blocking=True,
    description="Each split's ImageFolder holds exactly the index's files (no file missing, none "
    "extra that ImageFolder would also load) and each index path is unique (each file's bytes: "
    "imagenet_images' check images_match_recorded_hashes).",
)
def folders_match_index(storage: StorageResource) -> dg.AssetCheckResult:
    paths = storage.layout.imagenet
    table = _index(paths)
    if table is None:
        return _missing(paths)
    problems = []
    unique = pc.count_distinct(table.column("path")).as_py()
    if unique != table.num_rows:
        problems.append(f"{table.num_rows - unique} duplicate path(s) in the index: two hub rows name the same "
                        "file (the last one's bytes are kept); the mirror needs fixing")
    expected: dict[str, set[str]] = defaultdict(set)
    for path in table.column("path").to_pylist():
        split, synset, name = path.split("/")[-3:]
        expected[f"{split}/{synset}"].add(name)
    missing = extra = 0
    examples: list[str] = []
    folders = {f"{split}/{entry.name}" for split in SPLITS if paths.split_dir(split).is_dir()
               for entry in os.scandir(paths.split_dir(split)) if entry.is_dir()}
    for folder in sorted(folders | set(expected)):
        directory = paths.root / folder
        on_disk = {e.name for e in os.scandir(directory) if e.is_file()} if directory.is_dir() else set()
        lost, surplus = expected.get(folder, set()) - on_disk, on_disk - expected.get(folder, set())
        missing, extra = missing + len(lost), extra + len(surplus)
        examples += [f"missing {folder}/{n}" for n in sorted(lost)[:2]] + [f"extra {folder}/{n}" for n in sorted(surplus)[:2]]
    if missing:
        problems.append(f"{missing} indexed file(s) missing from the folders; materialize imagenet_images for "
                        "their shards (its check images_match_recorded_hashes names them), then imagenet_index")
    if extra:
        problems.append(f"{extra} file(s) in the folders that the index does not hold (ImageFolder would "
                        "load them); remove them or materialize imagenet_index again")
    return check_result(problems, files_indexed=table.num_rows, missing=missing, extra=extra,
                        examples=dg.MetadataValue.md("\n".join(f"- `{e}`" for e in examples[:10]) or "none"))


@dg.asset_check(
    asset="imagenet_index", name="official_split_sizes",
    description="The index holds the full ILSVRC 2012 data: 1,281,167 train and 50,000 validation "
    "images in 1,000 classes each (a warning on a sample or a partial mirror).",
)
def official_split_sizes(storage: StorageResource) -> dg.AssetCheckResult:
    paths = storage.layout.imagenet
    table = _index(paths)
    if table is None:
        return _missing(paths)
    problems = []
    metadata: dict = {}
    for split, expected in OFFICIAL_SIZES.items():
        rows = table.filter(pc.equal(table.column("split"), split))
        classes = pc.count_distinct(rows.column("synset")).as_py()
        metadata[f"{split}_images"], metadata[f"{split}_classes"] = rows.num_rows, classes
        if rows.num_rows != expected:
            problems.append(f"{split}: {rows.num_rows:,} images, the full data has {expected:,}")
        if classes != CLASS_COUNT:
            problems.append(f"{split}: {classes} classes, the full data has {CLASS_COUNT}")
    return check_result(problems, severity=dg.AssetCheckSeverity.WARN, **metadata)
