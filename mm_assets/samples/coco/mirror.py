"""A small COCO mirror in the upstream layout and file names, for the demo and the tests.

`<root>/coco/` is laid out like images.cocodataset.org (`zips/train2014.zip`, `zips/val2014.zip`,
`annotations/annotations_trainval2014.zip`) and `<root>/karpathy/caption_datasets.zip` like
Karpathy's file, with real small JPEGs (Pillow) and the real JSON layouts. Both splits' captions
hold the hard cases: whitespace around and inside, an inner newline, Unicode and emoji, a literal
`<|endoftext|>`, a caption longer than 62 tokens, a NUL, a lone surrogate escape (text that is not
Unicode), empty and whitespace-only captions, a repeated caption id, a caption of an unknown image
(train2014) and an image missing from the zips (Karpathy). What a correct run must get is
`SAMPLE_EXPECTED`, stated by hand from this layout (not computed by the pipeline's code).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from mm_assets.datasets.coco.upstream import ANNOTATIONS_ZIP, CAPTIONS_TRAIN2014, IMAGE_ZIPS, KARPATHY_JSON, KARPATHY_ZIP
from mm_assets.formats.zip import write_zip
from mm_assets.samples.caption_text import CaptionText
from mm_assets.samples.synthetic_images import small_jpeg

TRAIN_IMAGES = 20
VAL_IMAGES = 10  # Karpathy splits: 6 restval, 2 val, 2 test
CAPTIONS_PER_IMAGE = 5
LONG_CAPTION = "A very long caption about " + " and ".join(
    f"the small {word} next to the open window" for word in
    ("cat", "dog", "bird", "lamp", "chair", "table", "book", "cup", "vase", "clock"))
HARD_CAPTIONS = [
    "  A man riding a wave on top of a surfboard.  ",
    "A dog sitting on a couch\nnext to a cat.\n",
    "Un café près de la gare, avec des crêpes 🥞 et du thé 🍵.",
    "A sign that says <|endoftext|> in red letters.",
    LONG_CAPTION,
    "A cat\x00 sitting on a mat.",
    "A bird \ud83d perched on a branch.",
    "\tTabs\tand  double  spaces inside.\t",
]
EMPTY_CAPTIONS = ["", "  \n\t "]

SAMPLE_EXPECTED = {
    # 20 train2014 images x 5 captions; dropped: 2 empty, 1 repeated id, 1 of an unknown image.
    "train2014": {"images": 20, "pairs": 100, "dropped_empty_caption": 2, "dropped_duplicate_caption_id": 1,
                  "dropped_caption_of_unknown_image": 1, "captions_with_nul": 1, "captions_with_invalid_text": 1,
                  "truncated_captions": 1},
    # 20 train + 6 restval images x 5; dropped: 1 empty, 1 repeated sentid, 5 of a missing image.
    "karpathy": {"images": 26, "pairs": 130, "dropped_empty_caption": 1, "dropped_duplicate_caption_id": 1,
                 "dropped_missing_image": 5, "captions_with_nul": 1, "captions_with_invalid_text": 1,
                 "truncated_captions": 1},
}


def _file_name(folder: str, image_id: int) -> str:
    return f"COCO_{folder}_{image_id:012d}.jpg"


def _coco_json(images: list[dict], annotations: list[dict]) -> bytes:
    document = {"info": {"description": "COCO 2014 Dataset (sample)", "year": 2014, "version": "1.0"},
                "images": images, "licenses": [{"id": 1, "name": "sample", "url": ""}], "annotations": annotations}
    return json.dumps(document).encode("ascii")  # ensure_ascii, as the upstream files: \\u escapes


def generate_coco_mirror(root: str | Path, *, seed: int = 0) -> dict[str, Path]:
    """Write the mirror under `root`; returns the settings' values (`MM_COCO_URL`, `MM_COCO_KARPATHY_URL`)."""
    root = Path(root)
    rng = random.Random(seed)
    text = CaptionText(seed)
    ids = rng.sample(range(1, 581_930), TRAIN_IMAGES + VAL_IMAGES + 1)
    folders = {"train2014": ids[:TRAIN_IMAGES], "val2014": ids[TRAIN_IMAGES:]}
    missing_image = folders["val2014"][-1]  # named by Karpathy's file, absent from val2014.zip
    caption_ids = iter(rng.sample(range(1, 900_000), 1000))

    def captions_of(number: int) -> list[str]:
        captions = [text.coco_caption() for _ in range(CAPTIONS_PER_IMAGE)]
        if number < len(HARD_CAPTIONS):
            captions[number % CAPTIONS_PER_IMAGE] = HARD_CAPTIONS[number]
        return captions

    for folder, zip_name in IMAGE_ZIPS.items():
        members = [(f"{folder}/", b"")] + [(f"{folder}/{_file_name(folder, i)}", small_jpeg(rng))
                                           for i in folders[folder] if i != missing_image]
        write_zip(root / "coco" / zip_name, members, compress=lambda name: not name.endswith(".jpg"))

    # captions_train2014.json: 5 per image, then the hard cases of the drop rules, shuffled.
    annotations = [{"image_id": i, "id": next(caption_ids), "caption": caption}
                   for n, i in enumerate(folders["train2014"]) for caption in captions_of(n)]
    first = folders["train2014"][0]
    annotations += [{"image_id": first, "id": next(caption_ids), "caption": c} for c in EMPTY_CAPTIONS]
    annotations.append({"image_id": first, "id": annotations[7]["id"], "caption": "A repeated caption id."})
    annotations.append({"image_id": 999_999_999, "id": next(caption_ids), "caption": "An image not in COCO."})
    rng.shuffle(annotations)
    images_json = {folder: [{"id": i, "file_name": _file_name(folder, i), "width": 64, "height": 48}
                            for i in folders[folder]] for folder in folders}
    val_annotations = [{"image_id": i, "id": next(caption_ids), "caption": text.coco_caption()}
                       for i in folders["val2014"]]
    write_zip(root / "coco" / ANNOTATIONS_ZIP, [
        ("annotations/", b""),
        (CAPTIONS_TRAIN2014, _coco_json(images_json["train2014"], annotations)),
        ("annotations/captions_val2014.json", _coco_json(images_json["val2014"], val_annotations)),
    ])

    # dataset_coco.json: train2014 all "train"; val2014 restval x 6 (+1 missing), val x 2, test x 2.
    splits = ["train"] * TRAIN_IMAGES + ["restval"] * 6 + ["val"] * 2 + ["test"] * 2 + ["restval"]
    entries, sentid = [], 0
    for n, (image_id, split) in enumerate(zip(ids, splits)):
        folder = "train2014" if n < TRAIN_IMAGES else "val2014"
        raws = captions_of(n)
        if n == 1:
            raws.append(EMPTY_CAPTIONS[0])
        sentences = []
        for raw in raws:
            sentences.append({"tokens": raw.lower().split(), "raw": raw, "imgid": n, "sentid": sentid})
            sentid += 1
        if n == 2:
            sentences.append({"tokens": ["repeated"], "raw": "A repeated sentid.", "imgid": n, "sentid": 0})
        entries.append({"filepath": folder, "sentids": [s["sentid"] for s in sentences],
                        "filename": _file_name(folder, image_id), "imgid": n, "split": split,
                        "sentences": sentences, "cocoid": image_id})
    rng.shuffle(entries)
    karpathy = json.dumps({"images": entries, "dataset": "coco"}).encode("ascii")
    write_zip(root / "karpathy" / KARPATHY_ZIP, [(KARPATHY_JSON, karpathy)])
    return {"MM_COCO_URL": root / "coco", "MM_COCO_KARPATHY_URL": root / "karpathy" / KARPATHY_ZIP}
