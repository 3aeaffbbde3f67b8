"""Where OpenWebText's artifacts live under `$MM_DATA_ROOT/owt`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .slices import slice_hub_path

# The files of a fairseq data directory for masked_lm / data2vec 2.0, in the order they are listed.
DATA_DIR_FILES = ("dict.txt", "train.bin", "train.idx", "valid.bin", "valid.idx")
SPLITS = ("train", "valid")


@dataclass(frozen=True)
class OwtPaths:
    root: Path  # $MM_DATA_ROOT/owt

    def raw_slice(self, number: int) -> Path:
        """The hub file, kept under the same relative path it has on the hub."""
        return self.root / "raw" / slice_hub_path(number)

    def clean_slice(self, number: int) -> Path:
        return self.root / "clean" / f"slice{number:02d}.txt"

    def binarized_prefix(self, number: int) -> Path:
        """`<prefix>.bin` and `<prefix>.idx` of one slice."""
        return self.root / "binarized" / f"slice{number:02d}"

    @property
    def fairseq_dir(self) -> Path:
        return self.root / "fairseq"

    def fairseq_files(self) -> list[Path]:
        return [self.fairseq_dir / name for name in DATA_DIR_FILES]
