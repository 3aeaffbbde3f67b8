"""mm_assets: exact, reproducible data preparation for multimodal knowledge distillation.

The package root imports nothing so that worker processes (spawned for cleaning and encoding)
load only the plain core modules, never Dagster.
"""
