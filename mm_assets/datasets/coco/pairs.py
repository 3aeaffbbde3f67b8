"""The COCO pairs table: the chosen split's captions, cleaned and encoded, one pair per caption."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from mm_assets.common.counts import Tally
from mm_assets.common.progress import Progress
from mm_assets.datasets.pairs.table import PairsWriter, batched, encode_pairs, write_pairs_table
from mm_assets.formats.archive_limits import ArchiveLimits
from mm_assets.formats.shape import require_rows
from mm_assets.text.captions import CaptionEncoder, clean_caption

from .captions import image_files, ordered_unique, present_images, read_karpathy, read_train2014, relative_image
from .paths import CocoPaths
from .upstream import ANNOTATIONS_ZIP, KARPATHY_ZIP, Split

SOURCE = "coco"


@dataclass
class CocoPairs:
    split: Split
    captions_read: int
    drops: Tally
    table: PairsWriter


def caption_zip(split: Split) -> str:
    """The upstream file whose captions the split uses."""
    return KARPATHY_ZIP if split.name == "karpathy" else ANNOTATIONS_ZIP


def build_coco_pairs(split: Split, paths: CocoPaths, encoder: CaptionEncoder, *, workers: int,
                     log: Callable[[str], None] | None = None, limits: ArchiveLimits = ArchiveLimits()) -> CocoPairs:
    """Write `coco/pairs.parquet` (atomically) from the split's captions and the extracted images.

    Keeping no caption of a file that holds some raises `NoRowsKeptError`, and nothing is written."""
    drops = Tally()
    zip_path = paths.raw(caption_zip(split))
    reader = read_karpathy if split.name == "karpathy" else read_train2014
    read = reader(zip_path, drops, limits)
    captions = ordered_unique(read, drops)
    files = image_files(paths.images_dir, split.folders)

    def groups():
        for caption in present_images(captions, files, drops):
            text = clean_caption(caption.text, drops)
            yield caption.image_id, relative_image(caption), [text] if text else []

    progress = Progress("encode COCO captions", log, total=len(captions), unit="captions")
    kept = require_rows(groups(), lambda group: len(group[2]), lambda: len(read),
                        label=f"{zip_path.name} ({split.name} captions)", drops=drops)
    table = write_pairs_table(paths.pairs, batched(kept, SOURCE), partial(encode_pairs, encoder),
                              workers=workers, progress=progress)
    progress.finish()
    return CocoPairs(split, len(read), drops, table)
