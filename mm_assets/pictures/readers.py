"""The numbers behind each picture, read from the artifacts, and each picture as Markdown for an
asset's metadata (one call per asset: `defs/` adds the string as a Markdown metadata value)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.datasets.cc3m.availability import STAMP_FORMAT
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.imagenet.synsets import pinned_synsets
from mm_assets.formats.fairseq_mmap import read_sizes
from mm_assets.text.captions import MAX_BPE_TOKENS, MAX_CAPTION_TOKENS, CaptionEncoder

from .charts import ClassShares, caption_lengths_png, images_per_class_png, link_rot_png, owt_lengths_png
from .png import markdown_image


def _when(stamp: str) -> datetime:
    return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=timezone.utc)


def _snapshot_counts(path: Path) -> Counter:
    statuses = pq.read_table(path, columns=["status"])["status"]
    counts = pc.value_counts(statuses).to_pylist()
    return Counter({item["values"]: int(item["counts"]) for item in counts})


def shard_points(paths: Cc3mPaths, shard: str) -> list[ClassShares]:
    """Each dated snapshot of one shard: how many URLs fell in each class."""
    return [ClassShares(_when(path.stem), _snapshot_counts(path))
            for path in sorted(paths.snapshots_of(shard).glob("*.parquet"))]


def all_shards_points(paths: Cc3mPaths) -> list[ClassShares]:
    """Every shard's snapshots summed per UTC day (a shard checked twice that day counts its last
    check), labelled with how many shards were checked that day."""
    days: dict[str, dict[str, Counter]] = {}
    if paths.availability_dir.is_dir():
        for folder in sorted(p for p in paths.availability_dir.iterdir() if p.is_dir()):
            for path in sorted(folder.glob("*.parquet")):
                days.setdefault(path.stem[:8], {})[folder.name] = _snapshot_counts(path)
    return [ClassShares(datetime.strptime(day, "%Y%m%d").replace(tzinfo=timezone.utc),
                        sum(shards.values(), Counter()), f"{len(shards)} shard{'s' if len(shards) > 1 else ''}")
            for day, shards in sorted(days.items())]


def subset_mark(paths: Cc3mPaths) -> dict[str, datetime]:
    """When the CC3M subset was written (its file's modification time, UTC), if it exists."""
    if not paths.subset.is_file():
        return {}
    return {"subset written": datetime.fromtimestamp(int(paths.subset.stat().st_mtime), timezone.utc)}


def link_rot_markdown(paths: Cc3mPaths, shard: str) -> str:
    return markdown_image(link_rot_png(shard_points(paths, shard), f"CC3M shard {shard}: URLs by class per snapshot",
                                       subset_mark(paths)), f"link rot of shard {shard}")


def all_shards_link_rot_markdown(paths: Cc3mPaths) -> str:
    return markdown_image(link_rot_png(all_shards_points(paths), "CC3M, all shards: URLs by class per day checked",
                                       subset_mark(paths)), "link rot of all shards")


def owt_lengths_markdown(data_dir: Path, splits: Sequence[str]) -> str:
    """Sequence lengths of each split of a fairseq data directory (`<split>.idx`)."""
    sizes = {split: np.asarray(read_sizes(data_dir / f"{split}.idx")) for split in splits}
    return markdown_image(owt_lengths_png(sizes), "OpenWebText sequence lengths")


def caption_length_counts(path: Path, encoder: CaptionEncoder) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Per source of a pairs table: how many captions have each token count, and how many the limit
    cut (a caption at the limit whose own BPE length is over 62: re-encoded to know)."""
    table = pq.read_table(path, columns=["source", "n_tokens"])
    sources = table["source"].to_numpy(zero_copy_only=False)
    lengths = np.minimum(table["n_tokens"].to_numpy(zero_copy_only=False), MAX_CAPTION_TOKENS + 1)
    histograms, cut = {}, {}
    at_limit = np.flatnonzero(lengths >= MAX_CAPTION_TOKENS)
    captions = (pq.read_table(path, columns=["caption"])["caption"].take(at_limit).to_pylist()
                if at_limit.size else [])
    over = encoder.bpe_lengths(captions) > MAX_BPE_TOKENS if captions else np.zeros(0, bool)
    for source in dict.fromkeys(sources.tolist()):
        mine = sources == source
        histograms[source] = np.bincount(lengths[mine], minlength=MAX_CAPTION_TOKENS + 1)
        cut[source] = int(over[sources[at_limit] == source].sum())
    return histograms, cut


def caption_lengths_markdown(path: Path, encoder: CaptionEncoder) -> str:
    histograms, cut = caption_length_counts(path, encoder)
    return markdown_image(caption_lengths_png(histograms, cut, MAX_CAPTION_TOKENS), "caption token lengths")


def images_per_class(index: Path) -> dict[str, np.ndarray]:
    """Images per label (0..999, the pinned synset order) per split of the ImageNet index."""
    table = pq.read_table(index, columns=["split", "label"])
    splits = table["split"].to_numpy(zero_copy_only=False)
    labels = table["label"].to_numpy(zero_copy_only=False).astype(np.int64)
    classes = len(pinned_synsets())
    return {split: np.bincount(labels[splits == split], minlength=classes)[:classes]
            for split in dict.fromkeys(splits.tolist())}


def images_per_class_markdown(index: Path) -> str:
    return markdown_image(images_per_class_png(images_per_class(index), pinned_synsets()), "ImageNet images per class")
