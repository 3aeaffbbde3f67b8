"""Where Visual Genome's artifacts live under `$MM_DATA_ROOT/vg` (DESIGN §3 names them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VG_DIR = "vg"  # under $MM_DATA_ROOT; the pairs tables' image paths start with it


@dataclass(frozen=True)
class VgPaths:
    root: Path  # $MM_DATA_ROOT/vg

    def raw(self, upstream_file: str) -> Path:
        return self.root / "raw" / upstream_file

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def pairs(self) -> Path:
        return self.root / "pairs.parquet"

    @property
    def concat_pairs(self) -> Path:
        return self.root / "concat_pairs.parquet"


def image_path(folder: str, file_name: str) -> str:
    """An image as the pairs tables name it: relative to `$MM_DATA_ROOT`."""
    return f"{VG_DIR}/images/{folder}/{file_name}"
