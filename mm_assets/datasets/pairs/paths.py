"""Where the image-text artifacts live: each source's folder layout and the merged manifest (the
CC3M subset it reads is `DataLayout.cc3m.subset`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourcePaths:
    """One image-text source's folder (`$MM_DATA_ROOT/coco`, `$MM_DATA_ROOT/vg`)."""

    root: Path

    def raw(self, upstream_file: str) -> Path:
        """An upstream file, kept under the same relative path it has upstream."""
        return self.root / "raw" / upstream_file

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def pairs(self) -> Path:
        return self.root / "pairs.parquet"


def relative_image(source_dir: str, folder: str, file_name: str) -> str:
    """An image as the pairs tables name it: relative to `$MM_DATA_ROOT`."""
    return f"{source_dir}/images/{folder}/{file_name}"


@dataclass(frozen=True)
class PairsPaths:
    root: Path  # $MM_DATA_ROOT/pairs

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.parquet"

    @property
    def examples_dir(self) -> Path:
        """The contact sheet of sampled pairs (`pair_examples`)."""
        return self.root / "examples"
