"""GLUE's partitions, defined once: one per task, by the hub's folder names (`cola` .. `wnli`)."""

import dagster as dg

from mm_assets.datasets.glue.tasks import PARTITION_KEYS

glue_tasks = dg.StaticPartitionsDefinition(PARTITION_KEYS)
