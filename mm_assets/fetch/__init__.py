"""Getting upstream files: a source is a URL or a local folder laid out like it (docs/data-rules.md)."""
