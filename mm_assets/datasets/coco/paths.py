"""Where COCO's artifacts live under `$MM_DATA_ROOT/coco` (DESIGN §3 names them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

COCO_DIR = "coco"  # under $MM_DATA_ROOT; the pairs table's image paths start with it


@dataclass(frozen=True)
class CocoPaths:
    root: Path  # $MM_DATA_ROOT/coco

    def raw(self, upstream_file: str) -> Path:
        """An upstream file, kept under the same relative path it has upstream."""
        return self.root / "raw" / upstream_file

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def pairs(self) -> Path:
        return self.root / "pairs.parquet"


def image_path(folder: str, file_name: str) -> str:
    """An image as the pairs table names it: relative to `$MM_DATA_ROOT`."""
    return f"{COCO_DIR}/images/{folder}/{file_name}"
