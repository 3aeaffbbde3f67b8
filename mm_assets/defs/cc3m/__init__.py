"""CC3M's definitions: the index, availability snapshots and image cache per shard, the subset,
their checks, the weekly re-check schedule, and the source and crawl settings."""

from mm_assets.defs.shared.definitions import dataset_definitions

from . import assets, checks
from .resources import Cc3mCrawl, Cc3mSource
from .schedules import recheck_schedule_from_env

defs = dataset_definitions(
    asset_modules=[assets], check_modules=[checks],
    resources={"cc3m_source": Cc3mSource.from_env(), "cc3m_crawl": Cc3mCrawl.from_env()},
    schedules=[recheck_schedule_from_env()],
)
