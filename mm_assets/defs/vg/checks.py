"""Visual Genome's checks: those of every pairs table, on both tables."""

from mm_assets.defs.shared.pairs_checks import pairs_table_checks

vg_pairs_checks = pairs_table_checks("vg_pairs", lambda layout: layout.vg.pairs)
vg_concat_pairs_checks = pairs_table_checks("vg_concat_pairs", lambda layout: layout.vg.concat_pairs)
