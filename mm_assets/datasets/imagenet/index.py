"""The shards' parts -> `imagenet/index.parquet`, `synsets.txt` and `dropped.tsv`.

Each shard is extracted on its own (`extract.extract_shard`, one `imagenet_shards` partition);
the index is the parts merged in shard order (train, then validation), each shard's rows in file
order, streamed one part at a time. `build_index` does both, shard after shard, for tests and
scripts that want the whole thing in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from mm_assets.common.atomic import atomic_write
from mm_assets.common.counts import Tally
from mm_assets.common.missing import MissingInputError
from mm_assets.formats.parquet import parquet_writer

from .extract import BATCH_ROWS, Part, read_part
from .paths import SPLITS, ImagenetPaths
from .rows import INDEX_SCHEMA, LABEL_REASONS, Dropped
from .shards import ShardList
from .synsets import CLASS_COUNT, pinned_synsets

__all__ = ["INDEX_SCHEMA", "LABEL_REASONS", "Dropped", "ImagenetIndexError", "IndexSummary", "build_index",
           "merge_index", "read_parts", "unreadable"]


class ImagenetIndexError(Exception):
    pass


@dataclass
class IndexSummary:
    images: dict[str, int]  # split -> images indexed
    per_class: dict[str, np.ndarray]  # split -> images of each of the 1,000 classes
    tally: Tally  # dropped_<reason> counts, with examples
    dropped: list[Dropped]
    shards: int

    def class_range(self, split: str) -> tuple[int, int, int]:
        """(classes present, fewest images of a present class, most)."""
        counts = self.per_class[split]
        present = counts[counts > 0]
        return (len(present), int(present.min()), int(present.max())) if len(present) else (0, 0, 0)

    def synsets_found(self) -> list[str]:
        synsets = pinned_synsets()
        total = sum(self.per_class.values())
        return [synsets[i] for i in np.flatnonzero(total)]


def read_parts(shards: ShardList, paths: ImagenetPaths):
    """Each shard's part, in index order; fails naming every shard without a current part."""
    missing = [s.name for s in shards.shards if read_part(paths.part(s.name)) is None]
    if missing:
        raise ImagenetIndexError(
            f"{len(missing)} shard(s) not extracted (no current part under {paths.parts_dir}): "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; materialize imagenet_images "
            "for them (every partition of imagenet_shards)")
    for shard in shards.shards:
        part = read_part(paths.part(shard.name))
        if part is None:
            raise ImagenetIndexError(f"{paths.part(shard.name)}: changed while the index was merged; merge again")
        raw = paths.raw_shard(shard.name)
        if raw.is_file() and raw.stat().st_size != part.raw.size:
            raise ImagenetIndexError(f"{raw} is not the file {paths.part(shard.name)} was made from "
                                     f"({raw.stat().st_size:,} bytes, the part records {part.raw.size:,}); "
                                     f"materialize imagenet_images for {shard.name} again")
        yield shard, part


def merge_index(shards: ShardList, paths: ImagenetPaths) -> IndexSummary:
    """Write the index, the synset list and the list of what was left out from the parts."""
    images = {split: 0 for split in SPLITS}
    per_class = {split: np.zeros(CLASS_COUNT, dtype=np.int64) for split in SPLITS}
    tally = Tally(max_examples=5)
    dropped: list[Dropped] = []
    with parquet_writer(paths.index, INDEX_SCHEMA) as writer:
        for shard, part in read_parts(shards, paths):
            table = part.index_rows()
            writer.write_table(table)
            images[shard.split] += table.num_rows
            labels = table.column("label").to_numpy()
            per_class[shard.split] += np.bincount(labels, minlength=CLASS_COUNT)
            for item in part.dropped:
                tally.add(f"dropped_{item.reason}", example=item.hub_name or f"{item.shard}#{item.row}")
            dropped.extend(part.dropped)
    with atomic_write(paths.synsets, "w") as handle:
        handle.write("".join(f"{synset}\n" for synset in pinned_synsets()))
    with atomic_write(paths.dropped, "w") as handle:
        handle.write("shard\trow\thub_name\treason\tdetail\n")
        for item in dropped:
            handle.write("\t".join(str(v).replace("\t", " ").replace("\n", " ") for v in
                                   (item.shard, item.row, item.hub_name, item.reason, item.detail)) + "\n")
    return IndexSummary(images, per_class, tally, dropped, len(shards.shards))


def build_index(shards: ShardList, paths: ImagenetPaths, *, workers: int,
                log: Callable[[str], None] | None = None, batch_rows: int = BATCH_ROWS) -> IndexSummary:
    """Extract every shard that has no current part (raw files under `imagenet/raw/data/`), then merge."""
    from .extract import RawRecord, extract_shard

    order = [shard.name for shard in shards.shards]
    for shard in shards.shards:
        raw = paths.raw_shard(shard.name)
        if not raw.is_file():
            raise MissingInputError(raw, "imagenet_raw", shard.name)
        part: Part | None = read_part(paths.part(shard.name))
        if part is None or not part.raw.same_file(RawRecord.of(raw)):
            extract_shard(shard, raw, paths, order, workers=workers, batch_rows=batch_rows, log=log)
    return merge_index(shards, paths)


def unreadable(summary: IndexSummary) -> list[Dropped]:
    """The images left out because they are not whole, sane images (not for a label reason)."""
    return [d for d in summary.dropped if d.reason not in LABEL_REASONS]
