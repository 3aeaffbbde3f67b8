"""Which rows of a raw shard become images, and the index's columns.

Each image row of a shard is checked before it is written:

1. its hub name is an ImageNet name (`n01440764_10026_n01440764.JPEG`,
   `ILSVRC2012_val_00000001_n01751748.JPEG`) that states one synset, one of the 1,000;
2. the hub's label is that synset's position in the sorted synset list;
3. Pillow decodes it fully (`inspect_image`).

A row that fails is left out, counted under `dropped_<reason>` and listed (`dropped.tsv`); the
asset checks then fail on any label disagreement. The file keeps its original ImageNet name (the
hub appends `_<synset>`, which the folder already says) and its exact bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from mm_assets.images.validate import InvalidImage, inspect_image

from .shards import Shard, check_shard_shape
from .synsets import label_of_synset, parse_image_name

INDEX_SCHEMA = pa.schema([
    ("split", pa.string()), ("path", pa.string()), ("synset", pa.string()),
    ("label", pa.int16()), ("width", pa.int32()), ("height", pa.int32()),
])
# Reasons that say the hub's label, its file name and the synset list disagree (not a bad image).
LABEL_REASONS = ("unparsable_name", "name_disagrees", "no_synset_in_name", "unknown_synset", "label_disagrees")


@dataclass(frozen=True)
class Dropped:
    shard: str
    row: int
    hub_name: str
    reason: str
    detail: str


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


def iter_batches(raw: Path, batch_rows: int) -> Iterator[tuple[int, list, list, list]]:
    """(first row number, hub names, image bytes, labels) per batch, in file order; the file's
    columns are checked before any row is read."""
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
