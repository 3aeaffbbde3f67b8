"""The Dagster layer: assets grouped by dataset, thin wrappers over `mm_assets.core`."""
