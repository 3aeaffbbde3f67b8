"""The pair manifest's definitions: the merged table, its checks, and which VG pairs it takes."""

from mm_assets.defs.shared.definitions import dataset_definitions

from . import assets, checks, examples
from .resources import PairsSettings

defs = dataset_definitions(
    asset_modules=[assets, examples], check_modules=[checks], resources={"pairs_settings": PairsSettings.from_env()},
)
