"""Where ImageNet's artifacts live under `$MM_DATA_ROOT/imagenet`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val")


@dataclass(frozen=True)
class ImagenetPaths:
    root: Path  # $MM_DATA_ROOT/imagenet

    @property
    def data_root(self) -> Path:
        return self.root.parent

    def raw_shard(self, name: str) -> Path:
        """The hub file, kept under the same relative path it has on the hub."""
        return self.root / "raw" / "data" / f"{name}.parquet"

    @property
    def shard_list(self) -> Path:
        return self.root / "raw" / "shards.json"

    def split_dir(self, split: str) -> Path:
        """A torchvision `ImageFolder` root: one folder per synset."""
        return self.root / split

    def image(self, split: str, synset: str, file_name: str) -> Path:
        return self.root / split / synset / file_name

    def relative(self, path: Path) -> str:
        """How the index names a file: relative to `$MM_DATA_ROOT`, like every table's paths."""
        return path.relative_to(self.data_root).as_posix()

    @property
    def index(self) -> Path:
        return self.root / "index.parquet"

    @property
    def parts_dir(self) -> Path:
        """One finished shard's rows each: what a rerun keeps, and what the index merges."""
        return self.root / "index_parts"

    def part(self, name: str) -> Path:
        """A shard's rows, with each written image's size and sha256 and the raw file's record."""
        return self.parts_dir / f"{name}.parquet"

    def claims(self, name: str) -> Path:
        """The image paths a shard writes, published before it writes any (see `extract`)."""
        return self.parts_dir / f"{name}.paths"

    @property
    def claims_lock(self) -> Path:
        """Held only while a shard decides whether to replace an image another shard wrote."""
        return self.parts_dir / "claims.lock"

    @property
    def synsets(self) -> Path:
        """The 1,000 synsets, line i holding label i."""
        return self.root / "synsets.txt"

    @property
    def dropped(self) -> Path:
        """Every image left out, with its shard, row, hub name and reason."""
        return self.root / "dropped.tsv"
