"""Visual Genome's region descriptions, streamed image by image (docs/data-rules.md, "VG pairs").

`region_descriptions.json` (v1.2, about 700 MB) is a list of `{"id": image_id, "regions":
[{"region_id", "image_id", "phrase", "x", "y", "width", "height"}, ...]}`. It is parsed as a
stream (ijson), one image at a time, so memory does not grow with the file. Images in file order,
regions in file order. A region is left out, and counted, when it is malformed, names another
image than its entry, repeats a region id seen before, or when its image is in neither image zip.
The file's shape (`REGIONS_SHAPE`) is checked before any entry is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from mm_assets.common.counts import Tally
from mm_assets.formats.archive_limits import ArchiveLimits
from mm_assets.formats.zip import iter_json_member

from .paths import image_path
from .upstream import IMAGE_ZIPS, REGIONS_JSON, REGIONS_SHAPE

BITMAP_LIMIT = 1 << 30  # ids below this are tracked in a bitmap (at most 128 MiB), others in a set


class SeenIds:
    """A set of ids in about one bit per id up to the largest (VG: 5.4 M region ids in under 1 MB
    instead of 300 MB of Python ints), queried a whole image's regions at a time with numpy."""

    def __init__(self) -> None:
        self._bits = np.zeros(0, dtype=np.uint8)
        self._others: set[int] = set()  # negative ids and ids beyond the bitmap's limit

    def add_many(self, ids: list[int]) -> np.ndarray:
        """Add `ids`; return, per id, whether it was seen before (earlier in `ids` included)."""
        values = np.asarray(ids, dtype=np.int64)
        seen = np.zeros(values.size, dtype=bool)
        if not values.size:
            return seen
        _, first = np.unique(values, return_index=True)
        seen[:] = True
        seen[first] = False  # a repeat inside this list is a repeat too
        in_bitmap = (values >= 0) & (values < BITMAP_LIMIT)
        for index in np.flatnonzero(~in_bitmap):
            value = int(values[index])
            seen[index] |= value in self._others
            self._others.add(value)
        small = values[in_bitmap]
        if small.size:
            byte, bit = small >> 3, (1 << (small & 7)).astype(np.uint8)
            needed = int(byte.max()) + 1
            if needed > self._bits.size:
                self._bits = np.concatenate([self._bits, np.zeros(max(needed - self._bits.size, self._bits.size),
                                                                  dtype=np.uint8)])
            seen[in_bitmap] |= (self._bits[byte] & bit) != 0
            np.bitwise_or.at(self._bits, byte, bit)
        return seen


@dataclass(frozen=True)
class ImageRegions:
    image_id: int
    image: str  # relative to $MM_DATA_ROOT
    phrases: list[str]  # as written upstream, in file order: the caption rule cleans them later


def image_index(images_dir: Path, tally: Tally) -> dict[int, str]:
    """Image id -> its path relative to `$MM_DATA_ROOT`, from the extracted folders `<id>.jpg`."""
    index: dict[int, str] = {}
    for folder in IMAGE_ZIPS:
        directory = images_dir / folder
        if not directory.is_dir():
            continue
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if entry.is_file())
        for name in names:
            stem, _, extension = name.partition(".")
            if not (stem.isascii() and stem.isdigit() and extension.lower() == "jpg"):
                tally.add("files_not_named_id_jpg", example=f"{folder}/{name}")
            elif int(stem) in index:
                tally.add("images_in_both_folders", example=f"{folder}/{name}")  # the first is used
            else:
                index[int(stem)] = image_path(folder, name)
    return index


def _as_int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kept_fields(region, image_id: int, tally: Tally) -> tuple[int, str] | None:
    """(region id, phrase) of a well-formed region of `image_id`, else None (counted)."""
    region_id = _as_int(region.get("region_id")) if isinstance(region, dict) else None
    phrase = region.get("phrase") if region_id is not None else None
    if not isinstance(phrase, str):
        tally.add("dropped_malformed_region", example=str(region)[:80])
        return None
    if region.get("image_id", image_id) != image_id:
        tally.add("dropped_region_of_other_image",
                  example=f"region {region_id} names image {region.get('image_id')} inside image {image_id}")
        return None
    return region_id, phrase


@dataclass
class RegionsRead:
    """How many image entries and regions the file held (kept or not)."""

    images: int = 0
    regions: int = 0


def iter_image_regions(zip_path: Path, images: dict[int, str], tally: Tally, *,
                       limits: ArchiveLimits = ArchiveLimits(), read: RegionsRead | None = None,
                       ) -> Iterator[ImageRegions]:
    """Each image entry of the file that has an image, with the phrases of the regions kept."""
    seen = SeenIds()
    read = RegionsRead() if read is None else read
    for entry in iter_json_member(zip_path, REGIONS_JSON, "item", shape=REGIONS_SHAPE, limits=limits):
        read.images += 1
        image_id = _as_int(entry.get("id")) if isinstance(entry, dict) else None
        regions = entry.get("regions") if image_id is not None else None
        if not isinstance(regions, list):
            tally.add("dropped_malformed_image_entry", example=str(entry)[:80])
            continue
        read.regions += len(regions)
        ids, phrases = [], []
        for region in regions:
            if (type(region) is dict and type(region.get("region_id")) is int and type(region.get("phrase")) is str
                    and region.get("image_id", image_id) == image_id):  # the common case, checked cheaply
                ids.append(region["region_id"])
                phrases.append(region["phrase"])
            elif (fields := _kept_fields(region, image_id, tally)) is not None:
                ids.append(fields[0])
                phrases.append(fields[1])
        repeated = seen.add_many(ids)
        if repeated.any():
            for index in np.flatnonzero(repeated):
                tally.add("dropped_duplicate_caption_id", example=f"region {ids[index]}")
            phrases = [phrase for phrase, again in zip(phrases, repeated) if not again]
        image = images.get(image_id)
        if image is None:
            tally.add("images_with_regions_missing", example=str(image_id))
            if phrases:
                tally.add("dropped_missing_image", len(phrases), example=f"{len(phrases)} regions of image {image_id}")
            continue
        yield ImageRegions(image_id, image, phrases)
