"""COCO's checks: those of every pairs table, and the image folders against their zips' CRCs."""

from mm_assets.defs.shared.pairs_checks import pairs_table_checks
from mm_assets.defs.shared.zips import extracted_images_check

coco_pairs_checks = pairs_table_checks("coco_pairs", lambda layout: layout.coco.pairs)
coco_images_match_zip_crcs = extracted_images_check(
    "coco_images", lambda context: list(context.resources.coco_source.chosen_split().folders),
    lambda layout: layout.coco.images_dir, required_resource_keys={"coco_source"})
