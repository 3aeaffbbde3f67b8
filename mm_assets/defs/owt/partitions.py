"""OpenWebText's partitions, defined once: one per hub slice, `00`..`20`."""

import dagster as dg

from mm_assets.datasets.owt.slices import PARTITION_KEYS

owt_slices = dg.StaticPartitionsDefinition(PARTITION_KEYS)
