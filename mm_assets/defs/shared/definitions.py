"""One way to gather a dataset's definitions, so every dataset's assets look the same in the UI."""

import warnings
from types import ModuleType
from typing import Any, Sequence

import dagster as dg


def dataset_definitions(
    *,
    asset_modules: Sequence[ModuleType],
    check_modules: Sequence[ModuleType] = (),
    resources: dict[str, Any] | None = None,
    schedules: Sequence[Any] = (),
    sensors: Sequence[Any] = (),
) -> dg.Definitions:
    """The assets (with links to their source code), checks, schedules and source resources."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # code references are beta, and stable enough
        assets = dg.with_source_code_references(dg.load_assets_from_modules(list(asset_modules)))
    return dg.Definitions(
        assets=assets,
        asset_checks=dg.load_asset_checks_from_modules(list(check_modules)) if check_modules else None,
        resources=resources or {},
        schedules=list(schedules),
        sensors=list(sensors),
    )
