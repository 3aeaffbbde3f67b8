"""The CC3M subset's pairs, read from `cc3m/subset.parquet` and encoded by the caption rule.

The subset (written by `cc3m_subset`) has one row per kept CC3M image: `row_id` (the 0-based row
of Google's TSV, the pair's `image_id`), `caption`, and where the image is: `shard` and `key`, so
that the pair's `image` is `cc3m/images/<shard>.tar#<key>`.
"""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow.parquet as pq

from mm_assets.common.counts import Tally
from mm_assets.datasets.cc3m.paths import shard_image_ref
from mm_assets.text.captions import clean_caption

from .table import ENCODE_BATCH_ROWS, PendingPairs, iter_table_batches

SOURCE = "cc3m"
SUBSET_COLUMNS = ["row_id", "caption", "shard", "key"]


class SubsetFormatError(ValueError):
    """The subset table lacks a column the manifest needs."""


def iter_cc3m_pending(subset: str | os.PathLike, drops: Tally) -> Iterator[PendingPairs]:
    """The subset's pairs in its row order, in batches, captions cleaned (empties counted)."""
    names = pq.read_schema(subset).names
    missing = [column for column in SUBSET_COLUMNS if column not in names]
    if missing:
        raise SubsetFormatError(f"{subset}: no column {', '.join(missing)} (it has {', '.join(names)}); "
                                "materialize cc3m_subset again")
    for batch in iter_table_batches(subset, columns=SUBSET_COLUMNS, batch_rows=ENCODE_BATCH_ROWS):
        pending = PendingPairs(SOURCE)
        for row_id, caption, shard, key in zip(*(batch.column(c).to_pylist() for c in SUBSET_COLUMNS)):
            text = clean_caption(caption or "", drops)
            if text:
                pending.add(row_id, shard_image_ref(shard, key), text)
        if len(pending):
            yield pending
