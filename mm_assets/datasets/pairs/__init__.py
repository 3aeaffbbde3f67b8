"""Image-text pairs of every source: the one table format, the merged manifest and the thesis's Table 1."""
