"""Conceptual Captions 3M: Google's URL index, link availability over time, a deterministic image
cache in webdataset shards, and the subset of the first N available images (docs/data-rules.md)."""
