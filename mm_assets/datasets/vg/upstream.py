"""Visual Genome's upstream files (v1.2) and the thesis's figures for it."""

from __future__ import annotations

from mm_assets.formats.shape import JsonShape, Records

VG_IMAGES_URL = "https://cs.stanford.edu/people/rak248/VG_100K_2"
VG_REGIONS_URL = ("https://homes.cs.washington.edu/~ranjay/visualgenome/data/dataset/"
                  "region_descriptions.json.zip")

IMAGE_ZIPS = {"VG_100K": "images.zip", "VG_100K_2": "images2.zip"}  # folder -> file
REGIONS_ZIP = "region_descriptions.json.zip"
REGIONS_JSON = "region_descriptions.json"  # the member of REGIONS_ZIP
# What the reader relies on, checked before any row is read (docs/data-rules.md, "Structure before content").
REGIONS_SHAPE = JsonShape(list, records=Records({"id": int, "regions": Records({"region_id": int, "phrase": str})}))

SEED_IMAGES = 108_249
SEED_PAIRS = 5_408_689  # the regions of v1.2's region_descriptions.json
