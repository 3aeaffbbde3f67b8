"""Core library: plain functions and small classes, no Dagster imports."""
