"""What a pairs asset reports: the table's standard metadata, rows and images per source, the
seed's Table 1 beside the measured figures, the token-length histogram, and every drop counted."""

import contextlib
from pathlib import Path
from typing import Iterator

import dagster as dg
import numpy as np

from mm_assets.common.counts import Tally
from mm_assets.datasets.pairs.table import PAIRS_SCHEMA, PairsWriter
from mm_assets.datasets.pairs.table1 import histogram_rows, table1_markdown
from mm_assets.formats.archive_limits import ArchiveLimitError
from mm_assets.formats.json_stream import JsonFormatError
from mm_assets.formats.shape import NoRowsKeptError, ShapeError
from mm_assets.formats.zip import ZipFormatError
from mm_assets.layout import DataLayout
from mm_assets.text.captions import MAX_CAPTION_TOKENS, CaptionEncoder

from .inputs import gpt2_bpe_files
from .metadata import records_table, table_metadata, tally_table


def caption_encoder(layout: DataLayout) -> CaptionEncoder:
    """The caption encoder over the verified BPE files (a clear failure when they are missing)."""
    return CaptionEncoder(gpt2_bpe_files(layout))


@contextlib.contextmanager
def upstream_input(zip_path: Path, asset_key: str) -> Iterator[None]:
    """Reading an upstream zip: a damaged member removes the zip (the next fetch replaces it); a
    truncated, malformed or wrongly shaped JSON inside a sound zip, a member over an archive cap, or
    a file of which no row was kept fails naming it, and keeps the zip. Nothing is written either way,
    and no retry is made: the same bytes fail the same way."""
    try:
        yield
    except ZipFormatError as exc:
        zip_path.unlink(missing_ok=True)
        raise dg.Failure(f"{exc}. The zip was removed: materialize {asset_key} again to fetch it; nothing "
                         "was written", allow_retries=False) from exc
    except JsonFormatError as exc:
        raise dg.Failure(f"{exc}; the upstream file itself is damaged (its zip is sound); nothing was "
                         "written", allow_retries=False) from exc
    except (ShapeError, ArchiveLimitError) as exc:
        raise dg.Failure(f"{exc}; nothing was written", allow_retries=False) from exc
    except NoRowsKeptError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc


def pairs_metadata(path: Path, table: PairsWriter, drops: Tally, **extra) -> dict:
    metadata = table_metadata(path, PAIRS_SCHEMA, table.rows)
    histogram = np.zeros(MAX_CAPTION_TOKENS + 1, np.int64)
    for source, stats in table.stats.items():
        metadata[f"pairs_{source}"] = stats.pairs
        metadata[f"images_{source}"] = stats.images
        metadata[f"captions_per_image_{source}"] = round(stats.captions_per_image, 3)
        metadata[f"words_per_caption_{source}"] = round(stats.words_per_caption, 3)
        histogram += stats.token_histogram
    for key, count in sorted(table.counts.counts.items()):
        metadata[key] = int(count)
    for key, count in sorted(drops.counts.items()):
        metadata[key] = count
    metadata.update(extra)
    if table.rows == 0:  # readers fail when they keep none of a file's rows: this file holds none
        metadata["empty_because"] = "the upstream file holds no rows for this table"
    metadata["table_1"] = dg.MetadataValue.md(table1_markdown(table.stats) if table.stats else "no pairs")
    metadata["token_lengths"] = records_table({"tokens": int, "pairs": int, "share_percent": float},
                                              histogram_rows(histogram))
    metadata["dropped_and_repaired"] = tally_table(drops)
    return metadata
