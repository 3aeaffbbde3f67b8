"""A mirror's shards put where `imagenet_raw` puts them, for tests of the library alone."""

import shutil

from mm_assets.datasets.imagenet.paths import ImagenetPaths
from mm_assets.datasets.imagenet.shards import listed_files, shard_list


def install_raw_shards(mirror, root):
    """(the shard list, the paths under `root/imagenet`) with every used shard copied in."""
    shards = shard_list(str(mirror), listed_files(str(mirror)))
    paths = ImagenetPaths(root / "imagenet")
    for shard in shards.shards:
        paths.raw_shard(shard.name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mirror / shard.hub_path, paths.raw_shard(shard.name))
    return shards, paths
