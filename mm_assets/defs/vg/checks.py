"""Visual Genome's checks: those of every pairs table, on both tables, and the image folders
against their zips' CRCs."""

from mm_assets.datasets.vg.upstream import IMAGE_ZIPS
from mm_assets.defs.shared.pairs_checks import pairs_table_checks
from mm_assets.defs.shared.zips import extracted_images_check

vg_pairs_checks = pairs_table_checks("vg_pairs", lambda layout: layout.vg.pairs)
vg_concat_pairs_checks = pairs_table_checks("vg_concat_pairs", lambda layout: layout.vg.concat_pairs)
vg_images_match_zip_crcs = extracted_images_check(
    "vg_images", lambda context: list(IMAGE_ZIPS), lambda layout: layout.vg.images_dir)
