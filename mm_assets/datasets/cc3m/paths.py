"""Where CC3M's artifacts live under `$MM_DATA_ROOT/cc3m`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mm_assets.formats.webdataset import image_ref


@dataclass(frozen=True)
class Cc3mPaths:
    root: Path  # $MM_DATA_ROOT/cc3m

    @property
    def raw_dir(self) -> Path:
        """The index file as fetched, under its own name."""
        return self.root / "raw"

    @property
    def index(self) -> Path:
        return self.root / "index.parquet"

    @property
    def availability_dir(self) -> Path:
        return self.root / "availability"

    def snapshots_of(self, shard: str) -> Path:
        return self.availability_dir / shard

    def snapshot(self, shard: str, stamp: str) -> Path:
        return self.snapshots_of(shard) / f"{stamp}.parquet"

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    def shard_tar(self, shard: str) -> Path:
        return self.images_dir / f"{shard}.tar"

    def shard_index(self, shard: str) -> Path:
        return self.images_dir / f"{shard}.parquet"

    def shard_progress(self, shard: str) -> Path:
        """The journal of a shard being cached: what was fetched so far, for a resume."""
        return self.images_dir / f".progress-{shard}.journal"

    @property
    def subset(self) -> Path:
        return self.root / "subset.parquet"

    @property
    def subset_ids_urls(self) -> Path:
        return self.root / "subset_ids_urls.tsv"


def shard_image_ref(shard: str, key: str) -> str:
    """How the pair manifest names an image in a shard, relative to `$MM_DATA_ROOT`."""
    return image_ref(f"cc3m/images/{shard}.tar", key)
