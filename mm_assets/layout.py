"""Every path under `$MM_DATA_ROOT`, composed from each dataset's own paths (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mm_assets.datasets.cc3m.paths import Cc3mPaths
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
    def cc3m(self) -> Cc3mPaths:
        return Cc3mPaths(self.root / "cc3m")
