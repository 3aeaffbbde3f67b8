"""Visual Genome's definitions: the downloads, the image folders, both pairs tables, their checks."""

from mm_assets.defs.shared.definitions import dataset_definitions

from . import assets, checks
from .resources import VgSource

defs = dataset_definitions(
    asset_modules=[assets], check_modules=[checks], resources={"vg_source": VgSource.from_env()},
)
