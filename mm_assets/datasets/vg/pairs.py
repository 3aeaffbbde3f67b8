"""The two VG pairs tables: one pair per region (`vg`), and the concat variant (`vg_concat`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from mm_assets.common.counts import Tally
from mm_assets.common.progress import Progress
from mm_assets.datasets.pairs.table import ENCODE_BATCH_ROWS, PairsWriter, batched, encode_pairs, write_pairs_table
from mm_assets.formats.archive_limits import ArchiveLimits
from mm_assets.formats.shape import require_rows
from mm_assets.text.captions import CaptionEncoder, clean_caption

from .concat import ImagePhrases, encode_concat_batch, unique_phrases
from .paths import VgPaths
from .regions import RegionsRead, image_index, iter_image_regions
from .upstream import REGIONS_JSON, REGIONS_ZIP

SOURCE = "vg"


@dataclass
class VgPairs:
    images_in_zips: int
    drops: Tally
    table: PairsWriter
    read: RegionsRead


def _regions_kept(items, rows_of, read: RegionsRead, zip_path: Path, drops: Tally):
    """`items`, failing at their end when no region was kept of a file that holds some."""
    return require_rows(items, rows_of, lambda: read.regions, label=f"{REGIONS_JSON} in {zip_path.name}",
                        drops=drops)


def _reading(paths: VgPaths, log) -> tuple[Tally, dict[int, str], Path, Progress]:
    """What both tables start from: a tally, the images of the zips, the region file, a progress."""
    drops = Tally()
    zip_path = paths.raw(REGIONS_ZIP)
    return drops, image_index(paths.images_dir, drops), zip_path, Progress(f"read {zip_path.name}", log, unit="images")


def build_vg_pairs(paths: VgPaths, encoder: CaptionEncoder, *, workers: int,
                   log: Callable[[str], None] | None = None, limits: ArchiveLimits = ArchiveLimits()) -> VgPairs:
    """Write `vg/pairs.parquet`: one pair per kept region, in file order."""
    drops, images, zip_path, progress = _reading(paths, log)
    read = RegionsRead()

    def groups():
        for entry in iter_image_regions(zip_path, images, drops, limits=limits, read=read):
            progress.advance(1)
            texts = [clean_caption(phrase, drops) for phrase in entry.phrases]
            yield entry.image_id, entry.image, [text for text in texts if text]

    kept = _regions_kept(groups(), lambda group: len(group[2]), read, zip_path, drops)
    table = write_pairs_table(paths.pairs, batched(kept, SOURCE), partial(encode_pairs, encoder), workers=workers)
    progress.finish()
    return VgPairs(len(images), drops, table, read)


def build_vg_concat_pairs(paths: VgPaths, encoder: CaptionEncoder, *, workers: int,
                          log: Callable[[str], None] | None = None, limits: ArchiveLimits = ArchiveLimits()) -> VgPairs:
    """Write `vg/concat_pairs.parquet`: each image's phrases joined by the concat rule."""
    drops, images, zip_path, progress = _reading(paths, log)
    read = RegionsRead()

    def image_batches() -> Iterator[list[ImagePhrases]]:
        batch: list[ImagePhrases] = []
        phrases = 0
        for entry in iter_image_regions(zip_path, images, drops, limits=limits, read=read):
            progress.advance(1)
            kept = unique_phrases(entry.phrases, drops)
            if kept:
                batch.append(ImagePhrases(entry.image_id, entry.image, kept))
                phrases += len(kept)
            if phrases >= ENCODE_BATCH_ROWS:
                yield batch
                batch, phrases = [], 0
        if batch:
            yield batch

    batches = _regions_kept(image_batches(), lambda batch: sum(len(item.phrases) for item in batch), read,
                            zip_path, drops)
    table = write_pairs_table(paths.concat_pairs, batches, partial(encode_concat_batch, encoder), workers=workers)
    progress.finish()
    return VgPairs(len(images), drops, table, read)
