"""COCO's definitions: the downloads, the image folders, the pairs, their checks and source."""

from mm_assets.defs.shared.definitions import dataset_definitions

from . import assets, checks
from .resources import CocoSource

defs = dataset_definitions(
    asset_modules=[assets], check_modules=[checks], resources={"coco_source": CocoSource.from_env()},
)
