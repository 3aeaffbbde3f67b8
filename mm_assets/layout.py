"""Every path under `$MM_DATA_ROOT`, composed from each dataset's own paths (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mm_assets.datasets.glue.paths import GluePaths
from mm_assets.datasets.imagenet.paths import ImagenetPaths
from mm_assets.datasets.owt.paths import OwtPaths


@dataclass(frozen=True)
class DataLayout:
    root: Path

    @property
    def gpt2_bpe_dir(self) -> Path:
        return self.root / "gpt2_bpe"

    @property
    def owt(self) -> OwtPaths:
        return OwtPaths(self.root / "owt")

    @property
    def imagenet(self) -> ImagenetPaths:
        return ImagenetPaths(self.root / "imagenet")

    @property
    def glue(self) -> GluePaths:
        return GluePaths(self.root / "glue")
