"""COCO captions -> one pair per caption, in a fixed order (docs/data-rules.md, "COCO pairs").

Two sources, chosen by `MM_COCO_SPLIT`:
- `karpathy`: `dataset_coco.json` of Karpathy's `caption_datasets.zip`; the images whose `split`
  is `train` or `restval`; caption id `sentid`, text `raw`, image `<filepath>/<filename>`.
- `train2014`: `annotations/captions_train2014.json` of `annotations_trainval2014.zip`; every
  annotation; caption id `id`, text `caption`, image `train2014/<file_name>` of its `image_id`.

Both are parsed as streams (ijson), after their shape is checked (`CAPTIONS_SHAPE`,
`KARPATHY_SHAPE`: a file of another shape fails naming what it holds). Rows are ordered by image id, then caption id. A caption
whose id was seen before, whose entry is malformed, or whose image is not among the extracted
images is left out and counted; the caption rule (`mm_assets/text/captions.py`) does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from mm_assets.common.counts import Tally
from mm_assets.formats.archive_limits import ArchiveLimits
from mm_assets.formats.zip import iter_json_member

from .paths import image_path
from .upstream import CAPTIONS_SHAPE, CAPTIONS_TRAIN2014, KARPATHY_JSON, KARPATHY_SHAPE, KARPATHY_TRAINING_SPLITS, SPLITS


@dataclass(frozen=True, slots=True)  # 566,747 of them are held to be sorted: no __dict__ each
class CocoCaption:
    image_id: int
    caption_id: int
    folder: str
    file_name: str
    text: str  # as written upstream: the caption rule cleans it later


def _as_int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_karpathy(zip_path: Path, tally: Tally, limits: ArchiveLimits = ArchiveLimits()) -> list[CocoCaption]:
    """Train + restval captions of `dataset_coco.json`, in file order."""
    captions = []
    folders = SPLITS["karpathy"].folders
    for image in iter_json_member(zip_path, KARPATHY_JSON, "images.item", shape=KARPATHY_SHAPE, limits=limits):
        split = image.get("split") if isinstance(image, dict) else None
        if split not in KARPATHY_TRAINING_SPLITS:
            tally.add(f"karpathy_{split}_images_not_used" if isinstance(split, str) else "dropped_malformed_entry")
            continue
        image_id, folder, name = _as_int(image.get("cocoid")), image.get("filepath"), image.get("filename")
        sentences = image.get("sentences")
        if image_id is None or folder not in folders or not isinstance(name, str) or not isinstance(sentences, list):
            tally.add("dropped_malformed_entry", example=str(image)[:80])
            continue
        for sentence in sentences:
            caption_id = _as_int(sentence.get("sentid")) if isinstance(sentence, dict) else None
            text = sentence.get("raw") if caption_id is not None else None
            if not isinstance(text, str):
                tally.add("dropped_malformed_entry", example=str(sentence)[:80])
                continue
            captions.append(CocoCaption(image_id, caption_id, folder, name, text))
    return captions


def read_train2014(zip_path: Path, tally: Tally, limits: ArchiveLimits = ArchiveLimits()) -> list[CocoCaption]:
    """Every annotation of `captions_train2014.json`, in file order."""
    files: dict[int, str] = {}
    for image in iter_json_member(zip_path, CAPTIONS_TRAIN2014, "images.item", shape=CAPTIONS_SHAPE, limits=limits):
        image_id = _as_int(image.get("id")) if isinstance(image, dict) else None
        if image_id is None or not isinstance(image.get("file_name"), str):
            tally.add("dropped_malformed_image_entry", example=str(image)[:80])
            continue
        files[image_id] = image["file_name"]
    captions = []
    for note in iter_json_member(zip_path, CAPTIONS_TRAIN2014, "annotations.item", limits=limits):
        if not isinstance(note, dict):
            tally.add("dropped_malformed_entry", example=str(note)[:80])
            continue
        image_id, caption_id, text = _as_int(note.get("image_id")), _as_int(note.get("id")), note.get("caption")
        if image_id is None or caption_id is None or not isinstance(text, str):
            tally.add("dropped_malformed_entry", example=str(note)[:80])
        elif image_id not in files:
            tally.add("dropped_caption_of_unknown_image", example=f"caption {caption_id}, image {image_id}")
        else:
            captions.append(CocoCaption(image_id, caption_id, "train2014", files[image_id], text))
    return captions


def ordered_unique(captions: list[CocoCaption], tally: Tally) -> list[CocoCaption]:
    """The first caption of each caption id (file order), then sorted by image id, caption id."""
    seen: set[int] = set()
    kept = []
    for caption in captions:
        if caption.caption_id in seen:
            tally.add("dropped_duplicate_caption_id", example=str(caption.caption_id))
            continue
        seen.add(caption.caption_id)
        kept.append(caption)
    kept.sort(key=lambda c: (c.image_id, c.caption_id))
    return kept


def image_files(images_dir: Path, folders: tuple[str, ...]) -> dict[str, set[str]]:
    """The image file names present in each extracted folder."""
    found = {}
    for folder in folders:
        directory = images_dir / folder
        found[folder] = {entry.name for entry in directory.iterdir() if entry.is_file()} if directory.is_dir() else set()
    return found


def present_images(captions: list[CocoCaption], files: dict[str, set[str]], tally: Tally) -> Iterator[CocoCaption]:
    for caption in captions:
        if caption.file_name in files.get(caption.folder, ()):
            yield caption
        else:
            tally.add("dropped_missing_image", example=f"{caption.folder}/{caption.file_name}")


def relative_image(caption: CocoCaption) -> str:
    return image_path(caption.folder, caption.file_name)
