"""COCO's upstream files and the figures a run on them must reproduce (docs/data-rules.md, 'COCO').

`MM_COCO_URL` is a folder like http://images.cocodataset.org; `MM_COCO_KARPATHY_URL` names
Karpathy's `caption_datasets.zip` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_assets.formats.shape import JsonShape, Records

COCO_URL = "http://images.cocodataset.org"
KARPATHY_URL = "https://cs.stanford.edu/people/karpathy/deepimagesent/caption_datasets.zip"

IMAGE_ZIPS = {"train2014": "zips/train2014.zip", "val2014": "zips/val2014.zip"}  # folder -> file
ANNOTATIONS_ZIP = "annotations/annotations_trainval2014.zip"
CAPTIONS_TRAIN2014 = "annotations/captions_train2014.json"  # a member of ANNOTATIONS_ZIP
KARPATHY_ZIP = "caption_datasets.zip"
KARPATHY_JSON = "dataset_coco.json"  # a member of KARPATHY_ZIP
KARPATHY_TRAINING_SPLITS = ("train", "restval")
# What the readers rely on, checked before any row is read (docs/data-rules.md, "Structure before content").
KARPATHY_SHAPE = JsonShape(dict, keys={"images": Records({
    "split": str, "filepath": str, "filename": str, "cocoid": int,
    "sentences": Records({"raw": str, "sentid": int})})})
CAPTIONS_SHAPE = JsonShape(dict, keys={"images": Records({"id": int, "file_name": str}),
                                       "annotations": Records({"image_id": int, "id": int, "caption": str})})


@dataclass(frozen=True)
class Split:
    """A choice of COCO captions (`MM_COCO_SPLIT`), the image folders it needs and its real counts."""

    name: str
    folders: tuple[str, ...]
    images: int
    pairs: int
    what: str


SPLITS = {
    "karpathy": Split("karpathy", ("train2014", "val2014"), 113_287, 566_747,
                      "Karpathy's split, train + restval (`raw` sentences of dataset_coco.json)"),
    "train2014": Split("train2014", ("train2014",), 82_783, 414_113,
                       "every caption of COCO train2014 (captions_train2014.json)"),
}
SPLIT_HELP = "karpathy (Karpathy train + restval, 566,747 pairs) or train2014 (414,113 pairs)"

SEED_IMAGES = 82_783
SEED_PAIRS = 566_747
SEED_DISCREPANCY = (
    "The thesis's 82,783 images are COCO train2014 (414,113 captions); its 566,747 pairs are Karpathy's "
    "train + restval (113,287 images: all of train2014 and 30,504 of val2014). No one set of COCO "
    "captions has both figures: MM_COCO_SPLIT chooses one, and both are reported here."
)
