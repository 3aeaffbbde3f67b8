"""ImageNet: a hub-layout mirror of parquet shards with photo-like images."""
