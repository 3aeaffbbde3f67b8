"""The Dagster layer: one package per dataset (assets, checks, partitions, schedules, its source
resource), plus `shared/` (resources every dataset uses, retry rules). Only this package and
`mm_assets.definitions` import Dagster; everything they call is a plain library."""
