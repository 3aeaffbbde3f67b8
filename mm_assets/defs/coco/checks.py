"""COCO's checks: those of every pairs table."""

from mm_assets.defs.shared.pairs_checks import pairs_table_checks

coco_pairs_checks = pairs_table_checks("coco_pairs", lambda layout: layout.coco.pairs)
