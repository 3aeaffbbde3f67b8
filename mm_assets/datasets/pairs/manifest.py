"""The merged pair manifest: COCO, then VG (regions or concat), then the CC3M subset, in that order
(docs/data-rules.md, "Pair manifest").

The COCO and VG tables are copied batch by batch (already encoded, already checked); the CC3M
subset's captions are encoded here by the same caption rule. The manifest is written atomically
in row groups of `ROW_GROUP_ROWS`, so a training loop can stream it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from mm_assets.common.counts import Tally
from mm_assets.common.missing import MissingInputError
from mm_assets.common.progress import Progress
from mm_assets.text.captions import CaptionEncoder

from .cc3m import iter_cc3m_pending
from .table import PAIRS_SCHEMA, PairsWriter, PendingPairs, encode_pairs, iter_table_batches, write_pairs_table

VG_VARIANTS = ("regions", "concat")
VG_VARIANT_HELP = "regions (one pair per VG region) or concat (VG phrases joined by the concat rule)"


class InputTableError(ValueError):
    """An input pairs table is not a pairs table; the message names it (a missing one: `MissingInputError`)."""


@dataclass
class Manifest:
    table: PairsWriter
    inputs: dict[str, str]  # source -> the file its pairs came from
    cc3m_drops: Tally = field(default_factory=Tally)


def _encoded_batches(path: Path) -> Iterator[pa.RecordBatch]:
    schema = pq.read_schema(path)
    if not schema.equals(PAIRS_SCHEMA, check_metadata=False):
        raise InputTableError(f"{path}: not a pairs table (columns {schema.names}); materialize it again")
    yield from iter_table_batches(path)


def _encode_item(encoder: CaptionEncoder, item: pa.RecordBatch | PendingPairs):
    if isinstance(item, pa.RecordBatch):
        return item, {}
    batch, counts = encode_pairs(encoder, item)
    return batch, {f"{item.source}_{key}": value for key, value in counts.items()}


def build_manifest(
    output: str | os.PathLike,
    tables: dict[str, Path],
    cc3m_subset: Path | None,
    encoder: CaptionEncoder,
    *,
    workers: int,
    log: Callable[[str], None] | None = None,
) -> Manifest:
    """Write the manifest from `tables` (source -> pairs table, in order) and the CC3M subset."""
    for source, path in tables.items():
        if not path.is_file():
            raise MissingInputError(path, f"{source}_pairs")
    inputs = {source: str(path) for source, path in tables.items()}
    cc3m_drops = Tally()
    items: list[Iterable[pa.RecordBatch | PendingPairs]] = [_encoded_batches(path) for path in tables.values()]
    if cc3m_subset is not None:
        inputs["cc3m"] = str(cc3m_subset)
        items.append(iter_cc3m_pending(cc3m_subset, cc3m_drops))
    total = sum(pq.read_metadata(path).num_rows for path in tables.values())
    progress = Progress("write the pair manifest", log, total=total or None, unit="pairs")
    table = write_pairs_table(output, chain.from_iterable(items), partial(_encode_item, encoder),
                              workers=workers, progress=progress)
    progress.finish()
    return Manifest(table, inputs, cc3m_drops)
