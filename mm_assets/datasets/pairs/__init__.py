"""Image-text pairs of every source: the one table format, the merged manifest and the seed's Table 1."""
