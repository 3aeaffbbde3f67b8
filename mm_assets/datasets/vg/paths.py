"""Where Visual Genome's artifacts live under `$MM_DATA_ROOT/vg`: `raw/`,
`images/{VG_100K,VG_100K_2}/`, `pairs.parquet` and `concat_pairs.parquet`."""

from __future__ import annotations

from pathlib import Path

from mm_assets.datasets.pairs.paths import SourcePaths, relative_image

VG_DIR = "vg"  # under $MM_DATA_ROOT; the pairs tables' image paths start with it


class VgPaths(SourcePaths):
    @property
    def concat_pairs(self) -> Path:
        return self.root / "concat_pairs.parquet"


def image_path(folder: str, file_name: str) -> str:
    return relative_image(VG_DIR, folder, file_name)
