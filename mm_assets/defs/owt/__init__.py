"""OpenWebText's definitions: the slice chain, its checks, and where the slices come from."""

from mm_assets.defs.shared.definitions import dataset_definitions

from . import assets, checks
from .resources import OwtSource

defs = dataset_definitions(
    asset_modules=[assets], check_modules=[checks], resources={"owt_source": OwtSource.from_env()},
)
