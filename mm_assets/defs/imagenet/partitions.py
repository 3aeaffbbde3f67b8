"""ImageNet's partitions, defined once: one per parquet shard of the train and validation splits,
named after the shard (`train-00000-of-00294`), registered by `imagenet_shard_list` from the
hub's listing (the shard counts are the hub's to decide, so they are not fixed here)."""

import dagster as dg

imagenet_shards = dg.DynamicPartitionsDefinition(name="imagenet_shards")
