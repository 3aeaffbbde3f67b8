"""Every path under `$MM_DATA_ROOT`, composed from each dataset's own paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.coco.paths import COCO_DIR, CocoPaths
from mm_assets.datasets.glue.paths import GluePaths
from mm_assets.datasets.imagenet.paths import ImagenetPaths
from mm_assets.datasets.owt.paths import OwtPaths
from mm_assets.datasets.pairs.paths import PairsPaths
from mm_assets.datasets.vg.paths import VG_DIR, VgPaths


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
    def cc3m(self) -> Cc3mPaths:
        return Cc3mPaths(self.root / "cc3m")

    @property
    def coco(self) -> CocoPaths:
        return CocoPaths(self.root / COCO_DIR)

    @property
    def vg(self) -> VgPaths:
        return VgPaths(self.root / VG_DIR)

    @property
    def pairs(self) -> PairsPaths:
        return PairsPaths(self.root / "pairs")

    @property
    def imagenet(self) -> ImagenetPaths:
        return ImagenetPaths(self.root / "imagenet")

    @property
    def glue(self) -> GluePaths:
        return GluePaths(self.root / "glue")
