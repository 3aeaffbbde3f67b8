"""Where every artifact lives under the data root (the paths other tools rely on: DESIGN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataLayout:
    root: Path

    @property
    def gpt2_bpe_dir(self) -> Path:
        return self.root / "gpt2_bpe"

    @property
    def owt_dir(self) -> Path:
        return self.root / "owt"

    def owt_raw_slice(self, number: int) -> Path:
        return self.owt_dir / "raw" / "subsets" / f"urlsf_subset{number:02d}.tar"

    def owt_clean_slice(self, number: int) -> Path:
        return self.owt_dir / "clean" / f"slice{number:02d}.txt"

    def owt_binarized_prefix(self, number: int) -> Path:
        """`<prefix>.bin` and `<prefix>.idx` of one slice."""
        return self.owt_dir / "binarized" / f"slice{number:02d}"

    @property
    def owt_fairseq_dir(self) -> Path:
        return self.owt_dir / "fairseq"
