"""CC3M's partitions, defined once: the index's shards, registered when `cc3m_index` materializes."""

import dagster as dg

CC3M_SHARDS = "cc3m_shards"

cc3m_shards = dg.DynamicPartitionsDefinition(name=CC3M_SHARDS)
