"""GLUE's definitions: the hub's parquet files and the fairseq data of each task, one partition per task."""

from mm_assets.defs.shared.definitions import dataset_definitions

from . import assets, checks
from .resources import GlueSource

defs = dataset_definitions(
    asset_modules=[assets], check_modules=[checks], resources={"glue_source": GlueSource.from_env()},
)
