"""Where the merged pairs live under `$MM_DATA_ROOT/pairs`, and the CC3M subset it reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The CC3M subset and its shards, relative to $MM_DATA_ROOT (DESIGN §3: cc3m_subset's output).
CC3M_SUBSET = "cc3m/subset.parquet"
CC3M_SHARDS_DIR = "cc3m/images"


@dataclass(frozen=True)
class PairsPaths:
    root: Path  # $MM_DATA_ROOT/pairs

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.parquet"
