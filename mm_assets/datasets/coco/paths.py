"""Where COCO's artifacts live under `$MM_DATA_ROOT/coco`: `raw/` (the
upstream files), `images/{train2014,val2014}/`, `pairs.parquet`."""

from __future__ import annotations

from mm_assets.datasets.pairs.paths import SourcePaths, relative_image

COCO_DIR = "coco"  # under $MM_DATA_ROOT; the pairs table's image paths start with it


class CocoPaths(SourcePaths):
    pass


def image_path(folder: str, file_name: str) -> str:
    return relative_image(COCO_DIR, folder, file_name)
