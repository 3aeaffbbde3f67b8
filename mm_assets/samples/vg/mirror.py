"""A small Visual Genome mirror in the upstream layout and file names, for the demo and the tests.

`<root>/vg/images/images.zip` (`VG_100K/<id>.jpg`) and `images2.zip` (`VG_100K_2/<id>.jpg`) hold
real small JPEGs; `<root>/vg/regions/region_descriptions.json.zip` holds v1.2's JSON layout. The
regions hold the hard cases of both VG rules: repeated phrases (also differing only in surrounding
whitespace), empty and whitespace-only phrases, a phrase longer than 62 tokens, an image with 40
phrases (several concat texts), a repeated region id, a region naming another image, an inner
newline, emoji, a NUL, a lone surrogate escape, upper case, and an image in neither zip.
`SAMPLE_EXPECTED` is stated by hand from this layout.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from mm_assets.datasets.vg.upstream import IMAGE_ZIPS, REGIONS_JSON, REGIONS_ZIP
from mm_assets.formats.zip import write_zip
from mm_assets.samples.caption_text import CaptionText
from mm_assets.samples.synthetic_images import small_jpeg

IMAGES = {"VG_100K": 12, "VG_100K_2": 8}
PHRASES_PER_IMAGE = 8
CROWDED_EXTRA = 32  # image 3 has 40 phrases: its concat texts overflow several times
LONG_PHRASE = "a long phrase about " + ", ".join(f"the {w} beside the old wooden fence" for w in
                                                 ("dog", "cat", "horse", "bench", "tree", "sign", "lamp", "car", "kite"))
NOT_IN_ZIPS = 99_999_999
EXTRAS = {
    0: ["white clouds", " white clouds ", "white clouds"],
    1: ["", "   "],
    2: [LONG_PHRASE],
    6: ["a red car\nparked by the road", "A 🚗 on the road", "a sign with \x00 inside", "a bird \ud83d here",
        "Red Car"],
}

SAMPLE_EXPECTED = {
    # 20 images: 8 phrases each, 32 more on image 3, 11 extras, a repeated region id, a region of
    # another image; dropped: 2 empty, 1 repeated id, 1 of another image, 3 of an image in no zip.
    "images": 20, "pairs": 201, "dropped_empty_caption": 2, "dropped_duplicate_caption_id": 1,
    "dropped_region_of_other_image": 1, "dropped_missing_image": 3, "captions_with_nul": 1,
    "captions_with_invalid_text": 1, "truncated_captions": 1,
}


def generate_vg_mirror(root: str | Path, *, seed: int = 0) -> dict[str, Path]:
    """Write the mirror under `root`; returns the settings' values (`MM_VG_IMAGES_URL`, `MM_VG_REGIONS_URL`)."""
    root = Path(root)
    rng = random.Random(seed + 1)
    text = CaptionText(seed + 1)
    ids = sorted(rng.sample(range(1, 2_420_000), sum(IMAGES.values())))
    folders, start = {}, 0
    for folder, count in IMAGES.items():
        folders[folder] = ids[start:start + count]
        start += count
    for folder, zip_name in IMAGE_ZIPS.items():
        members = [(f"{folder}/", b"")] + [(f"{folder}/{i}.jpg", small_jpeg(rng)) for i in folders[folder]]
        write_zip(root / "vg" / "images" / zip_name, members, compress=lambda name: not name.endswith(".jpg"))

    region_ids = iter(range(1, 10_000_000, 7))
    entries = []
    for number, image_id in enumerate(ids + [NOT_IN_ZIPS]):
        count = 3 if image_id == NOT_IN_ZIPS else PHRASES_PER_IMAGE + (CROWDED_EXTRA if number == 3 else 0)
        phrases = [text.vg_phrase() for _ in range(count)] + EXTRAS.get(number, [])
        regions = [{"region_id": next(region_ids), "width": rng.randint(5, 60), "height": rng.randint(5, 60),
                    "image_id": image_id, "phrase": phrase, "y": rng.randint(0, 40), "x": rng.randint(0, 40)}
                   for phrase in phrases]
        if number == 4:
            regions.append({**regions[0], "phrase": "a repeated region id"})
        if number == 5:
            regions.append({**regions[0], "region_id": next(region_ids), "image_id": ids[0],
                            "phrase": "a region naming another image"})
        entries.append({"regions": regions, "id": image_id})
    write_zip(root / "vg" / "regions" / REGIONS_ZIP, [(REGIONS_JSON, json.dumps(entries).encode("ascii"))])
    return {"MM_VG_IMAGES_URL": root / "vg" / "images", "MM_VG_REGIONS_URL": root / "vg" / "regions" / REGIONS_ZIP}
