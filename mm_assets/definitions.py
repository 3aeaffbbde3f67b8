"""The one code location: `dagster dev -m mm_assets.definitions`."""

import dagster as dg

from mm_assets.assets import owt, tokenizer
from mm_assets.checks import owt_checks
from mm_assets.resources import settings_from_env

all_assets = dg.load_assets_from_modules([tokenizer, owt])
all_checks = dg.load_asset_checks_from_modules([owt_checks])

defs = dg.Definitions(
    assets=dg.with_source_code_references(all_assets),
    asset_checks=all_checks,
    resources={
        "settings": settings_from_env(),
        "pipes_subprocess_client": dg.PipesSubprocessClient(),
    },
)
