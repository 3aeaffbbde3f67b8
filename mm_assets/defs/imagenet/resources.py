"""Where ImageNet comes from: the hub's gated repository, or a local mirror laid out like it."""

from typing import ClassVar

from mm_assets.datasets.imagenet.shards import ShardListError, hub_repo
from mm_assets.defs.shared.resources import EnvResource, setting_error
from mm_assets.fetch.sources import is_remote

IMAGENET_HUB_URL = "https://huggingface.co/datasets/ILSVRC/imagenet-1k/resolve/main"


class ImagenetSource(EnvResource):
    """The hub's resolve URL (its API lists the shards) or a folder with `data/*.parquet`."""

    ENV: ClassVar[dict[str, str]] = {"MM_IMAGENET_URL": "url"}
    url: str = IMAGENET_HUB_URL

    def check_values(self) -> None:
        accepts = ("the hub's resolve URL (https://huggingface.co/datasets/<org>/<name>/resolve/<revision>) "
                   "or a folder with data/{train,validation,test}-NNNNN-of-MMMMM.parquet")
        if not self.url.strip():
            raise setting_error("MM_IMAGENET_URL", self.url, accepts)
        if is_remote(self.url):
            try:
                hub_repo(self.url)
            except ShardListError:
                raise setting_error("MM_IMAGENET_URL", self.url, accepts) from None
