"""The raw shards -> `imagenet/{train,val}/<synset>/<file>` (bytes unchanged) and `imagenet/index.parquet`.

Each image row of a shard is checked before it is written:

1. its hub name is an ImageNet name (`n01440764_10026_n01440764.JPEG`,
   `ILSVRC2012_val_00000001_n01751748.JPEG`) that states one synset, one of the 1,000;
2. the hub's label is that synset's position in the sorted synset list;
3. Pillow decodes it fully (`inspect_image`).

A row that fails is left out, counted under `dropped_<reason>` and listed (`dropped.tsv`); the
asset checks then fail on any label disagreement. The file keeps its original ImageNet name (the
hub appends `_<synset>`, which the folder already says) and its exact bytes.

Shards are done one at a time, their rows on a pool of threads (Pillow decodes without the GIL).
A shard's images are written (temp file + rename), flushed to disk (`os.sync`), then its rows are
committed as `index_parts/<shard>.parquet`, which records the raw file it came from: a killed run
resumes at the first shard without a part, and a rerun redoes only shards whose raw file changed.
The index is the parts merged in shard order (train, then validation), streamed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mm_assets.common.atomic import atomic_write
from mm_assets.common.counts import Tally
from mm_assets.common.parallel import IN_FLIGHT_BYTES, ordered_map
from mm_assets.common.progress import Progress
from mm_assets.formats.parquet import parquet_writer, write_parquet
from mm_assets.images.validate import InvalidImage, inspect_image

from .paths import SPLITS, ImagenetPaths
from .shards import Shard, ShardList, check_shard_shape
from .synsets import CLASS_COUNT, label_of_synset, parse_image_name, pinned_synsets

INDEX_SCHEMA = pa.schema([
    ("split", pa.string()), ("path", pa.string()), ("synset", pa.string()),
    ("label", pa.int16()), ("width", pa.int32()), ("height", pa.int32()),
])
# Bumped whenever the rules above change what a shard's part holds: older parts are then redone.
RULES_VERSION = 1
PART_KEY = b"mm_assets_part"
BATCH_ROWS = 64
# Reasons that say the hub's label, its file name and the synset list disagree (not a bad image).
LABEL_REASONS = ("unparsable_name", "name_disagrees", "no_synset_in_name", "unknown_synset", "label_disagrees")


class ImagenetIndexError(Exception):
    pass


@dataclass(frozen=True)
class Dropped:
    shard: str
    row: int
    hub_name: str
    reason: str
    detail: str


@dataclass
class ShardResult:
    rows: dict[str, list] = field(default_factory=lambda: {name: [] for name in INDEX_SCHEMA.names})
    dropped: list[Dropped] = field(default_factory=list)

    def add(self, split: str, path: str, synset: str, label: int, width: int, height: int) -> None:
        for name, value in zip(INDEX_SCHEMA.names, (split, path, synset, label, width, height)):
            self.rows[name].append(value)


class Kept(NamedTuple):
    file_name: str
    synset: str
    label: int
    width: int
    height: int


class Rejected(NamedTuple):
    reason: str
    detail: str


def check_row(shard: Shard, hub_name: str, hub_label: int, data: bytes) -> Kept | Rejected:
    """Whether one row is kept (and as what), or why it is left out."""
    name = parse_image_name(hub_name, shard.split)
    if name is None:
        return Rejected("unparsable_name", f"{hub_name!r} is not an ImageNet {shard.split} file name")
    if name.problem:
        return Rejected("name_disagrees", name.problem)
    if name.synset is None:
        return Rejected("no_synset_in_name", f"{hub_name!r} states no synset to check the label against")
    label = label_of_synset().get(name.synset)
    if label is None:
        return Rejected("unknown_synset", f"{name.synset} is not one of the 1,000 ImageNet-1k synsets")
    if hub_label != label:
        return Rejected("label_disagrees", f"the hub's label is {hub_label}, but {name.synset} is class {label}")
    try:
        info = inspect_image(data)
    except InvalidImage as exc:
        return Rejected(exc.reason, str(exc))
    return Kept(name.file_name, name.synset, label, info.width, info.height)


def _iter_batches(raw: Path, batch_rows: int) -> Iterator[tuple[int, list, list, list]]:
    """(first row number, hub names, image bytes, labels) per batch, in file order."""
    check_shard_shape(raw)
    parquet = pq.ParquetFile(raw)
    first = 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=["image", "label"]):
        images = batch.column("image")
        names = images.field("path").to_pylist()
        blobs = images.field("bytes").to_pylist()
        labels = batch.column("label").to_pylist()
        yield first, names, blobs, labels
        first += len(labels)


class _ImageWriter:
    """Writes image files whole (temp file + rename) without an fsync each; `sync` makes them durable."""

    def __init__(self) -> None:
        self._made: set[Path] = set()
        self._lock = threading.Lock()

    def write(self, target: Path, data: bytes) -> None:
        folder = target.parent
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._made.add(folder)
        temp = folder / f".tmp-{target.name}.{os.getpid()}-{threading.get_ident()}"
        with open(temp, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)

    @staticmethod
    def sync() -> None:
        os.sync()


def index_shard(shard: Shard, raw: Path, paths: ImagenetPaths, *, workers: int,
                batch_rows: int = BATCH_ROWS, progress: Progress | None = None) -> ShardResult:
    """Check and write every image of one shard; return its index rows and what was left out."""
    writer = _ImageWriter()
    split = shard.split

    def do_batch(batch) -> list:
        first, names, blobs, labels = batch
        out = []
        for offset, (hub_name, data, hub_label) in enumerate(zip(names, blobs, labels)):
            hub_name = hub_name or ""
            verdict = check_row(shard, hub_name, -1 if hub_label is None else int(hub_label), data or b"")
            if isinstance(verdict, Rejected):
                out.append(Dropped(shard.name, first + offset, hub_name, *verdict))
                continue
            target = paths.image(split, verdict.synset, verdict.file_name)
            writer.write(target, data)
            out.append((paths.relative(target), verdict.synset, verdict.label, verdict.width, verdict.height))
        return out

    result = ShardResult()
    batches = _iter_batches(raw, batch_rows)
    batch_bytes = lambda batch: sum(len(blob or b"") for blob in batch[2])  # noqa: E731 - the images held
    for outcomes in ordered_map(do_batch, batches, workers=workers, size=batch_bytes, max_bytes=IN_FLIGHT_BYTES):
        for outcome in outcomes:
            if isinstance(outcome, Dropped):
                result.dropped.append(outcome)
            else:
                result.add(split, *outcome)
        if progress is not None:
            progress.advance(len(outcomes))
    writer.sync()
    return result


def raw_identity(raw: Path) -> dict:
    """What a part records of the raw file it was made from (a refetched file differs)."""
    stat = raw.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "rules": RULES_VERSION}


def write_part(path: Path, result: ShardResult, identity: dict) -> None:
    table = pa.table(result.rows, schema=INDEX_SCHEMA)
    meta = {"raw": identity, "dropped": [asdict(d) for d in result.dropped]}
    write_parquet(table.replace_schema_metadata({PART_KEY: json.dumps(meta).encode()}), path)


def read_part(path: Path, identity: dict) -> tuple[pa.Table, list[Dropped]] | None:
    """A part made from this very raw file under these rules, or None (then the shard is redone)."""
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {})[PART_KEY])
    except (pa.ArrowException, OSError, KeyError, ValueError):
        return None
    if meta.get("raw") != identity:
        return None
    return table.replace_schema_metadata(None).cast(INDEX_SCHEMA), [Dropped(**d) for d in meta["dropped"]]


def remove_stale_image_temps(paths: ImagenetPaths) -> int:
    """Temp files a killed run left in the class folders (call under the index's lock)."""
    removed = 0
    for split in SPLITS:
        root = paths.split_dir(split)
        if not root.is_dir():
            continue
        for folder in os.scandir(root):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder.path):
                if entry.name.startswith(".tmp-"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
    return removed


@dataclass
class IndexSummary:
    images: dict[str, int]  # split -> images indexed
    per_class: dict[str, np.ndarray]  # split -> images of each of the 1,000 classes
    tally: Tally  # dropped_<reason> counts, with examples
    dropped: list[Dropped]
    shards_reused: int
    shards_done: int

    def class_range(self, split: str) -> tuple[int, int, int]:
        """(classes present, fewest images of a present class, most)."""
        counts = self.per_class[split]
        present = counts[counts > 0]
        return (len(present), int(present.min()), int(present.max())) if len(present) else (0, 0, 0)

    def synsets_found(self) -> list[str]:
        synsets = pinned_synsets()
        total = sum(self.per_class.values())
        return [synsets[i] for i in np.flatnonzero(total)]


def build_index(shards: ShardList, paths: ImagenetPaths, *, workers: int,
                log: Callable[[str], None] | None = None, batch_rows: int = BATCH_ROWS) -> IndexSummary:
    """Index every used shard (resuming from finished parts), then write the index and lists."""
    missing = [s.name for s in shards.shards if not paths.raw_shard(s.name).is_file()]
    if missing:
        raise ImagenetIndexError(
            f"{len(missing)} raw shard(s) missing under {paths.root / 'raw' / 'data'}: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; materialize imagenet_raw for them")
    removed = remove_stale_image_temps(paths)
    if removed and log:
        log(f"removed {removed} temp file(s) a killed run left in the class folders")
    total_rows = sum(pq.ParquetFile(paths.raw_shard(s.name)).metadata.num_rows for s in shards.shards)
    progress = Progress("imagenet_index", log, total=total_rows, unit="images")
    reused = done = 0
    for shard in shards.shards:
        raw = paths.raw_shard(shard.name)
        identity = raw_identity(raw)
        if read_part(paths.part(shard.name), identity) is not None:
            reused += 1
            progress.advance(pq.ParquetFile(raw).metadata.num_rows)
            continue
        result = index_shard(shard, raw, paths, workers=workers, batch_rows=batch_rows, progress=progress)
        write_part(paths.part(shard.name), result, identity)
        done += 1
        if log:
            log(f"{shard.name}: {len(result.rows['path']):,} images, {len(result.dropped)} left out")
    progress.finish()
    return _merge(shards, paths, reused, done)


def _merge(shards: ShardList, paths: ImagenetPaths, reused: int, done: int) -> IndexSummary:
    images = {split: 0 for split in SPLITS}
    per_class = {split: np.zeros(CLASS_COUNT, dtype=np.int64) for split in SPLITS}
    tally = Tally(max_examples=5)
    dropped: list[Dropped] = []
    with parquet_writer(paths.index, INDEX_SCHEMA) as writer:
        for shard in shards.shards:
            part = read_part(paths.part(shard.name), raw_identity(paths.raw_shard(shard.name)))
            if part is None:
                raise ImagenetIndexError(f"{paths.part(shard.name)}: changed while the index was merged")
            table, left_out = part
            writer.write_table(table)
            images[shard.split] += table.num_rows
            labels = table.column("label").to_numpy()
            per_class[shard.split] += np.bincount(labels, minlength=CLASS_COUNT)
            for item in left_out:
                tally.add(f"dropped_{item.reason}", example=item.hub_name or f"{item.shard}#{item.row}")
            dropped.extend(left_out)
    with atomic_write(paths.synsets, "w") as handle:
        handle.write("".join(f"{synset}\n" for synset in pinned_synsets()))
    with atomic_write(paths.dropped, "w") as handle:
        handle.write("shard\trow\thub_name\treason\tdetail\n")
        for item in dropped:
            handle.write("\t".join(str(v).replace("\t", " ").replace("\n", " ") for v in
                                   (item.shard, item.row, item.hub_name, item.reason, item.detail)) + "\n")
    return IndexSummary(images, per_class, tally, dropped, reused, done)


def unreadable(summary: IndexSummary) -> list[Dropped]:
    """The images left out because they are not whole, sane images (not for a label reason)."""
    return [d for d in summary.dropped if d.reason not in LABEL_REASONS]


def dropped_table(items: list[Dropped], limit: int = 50) -> str:
    if not items:
        return "none"
    rows = ["| shard | row | hub name | reason | detail |", "| --- | --- | --- | --- | --- |"]
    for item in itertools.islice(items, limit):
        rows.append(f"| {item.shard} | {item.row} | `{item.hub_name}` | {item.reason} | {item.detail[:120]} |")
    if len(items) > limit:
        rows.append(f"| ... | | {len(items) - limit} more in dropped.tsv | | |")
    return "\n".join(rows)
