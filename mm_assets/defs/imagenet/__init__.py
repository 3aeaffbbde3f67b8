"""ImageNet's definitions: the shard list, one partition per raw shard, the ImageFolder index, its checks."""

from mm_assets.defs.shared.definitions import dataset_definitions

from . import assets, checks
from .resources import ImagenetSource

defs = dataset_definitions(
    asset_modules=[assets], check_modules=[checks], resources={"imagenet_source": ImagenetSource.from_env()},
)
