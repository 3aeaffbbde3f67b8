"""The 1,000 ImageNet-1k classes: their WordNet ids in label order, and the synset in each file name.

The label of an image is the position of its synset in the sorted list of the 1,000 synsets
(torchvision's `ImageFolder` gives the same, sorting the class folders). `synsets.txt` beside
this module pins that list: the ILSVRC 2012 classification synsets (identical in 2012-2017), one
per line, as published in `tensorflow/models` (`research/slim/datasets/
imagenet_lsvrc_2015_synsets.txt`); its sha256 is pinned below, and the tests check it against
torchvision's own ImageNet class names and Imagenette's synsets. The data must agree with it: the
hub's label column, and the synset written in each file name
(`n01440764_10026_n01440764.JPEG`, `ILSVRC2012_val_00000001_n01751748.JPEG`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

SYNSETS_FILE = Path(__file__).with_name("synsets.txt")
SYNSETS_SHA256 = "70002b0ff5de60a3a17a82dbfcff291931f96225ddf941ad2e182fc39e183d15"
CLASS_COUNT = 1000

# Hub file names: the original name, with the synset appended (`_<synset>`) before the extension.
_TRAIN_NAME = re.compile(r"^(?P<stem>(?P<synset>n\d{8})_\d+)(?:_(?P<suffix>n\d{8}))?(?P<ext>\.[A-Za-z]+)$")
_VAL_NAME = re.compile(r"^(?P<stem>ILSVRC2012_val_\d{8})(?:_(?P<suffix>n\d{8}))?(?P<ext>\.[A-Za-z]+)$")


@functools.lru_cache(maxsize=1)
def pinned_synsets() -> tuple[str, ...]:
    """The 1,000 synsets in label order; refuses a list that is not the pinned one."""
    data = SYNSETS_FILE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SYNSETS_SHA256:
        raise RuntimeError(f"{SYNSETS_FILE}: sha256 {digest}, pinned {SYNSETS_SHA256}: the class list changed")
    synsets = tuple(data.decode("ascii").split())
    assert len(synsets) == CLASS_COUNT and list(synsets) == sorted(set(synsets))
    return synsets


@functools.lru_cache(maxsize=1)
def label_of_synset() -> dict[str, int]:
    return {synset: label for label, synset in enumerate(pinned_synsets())}


@dataclass(frozen=True)
class ImageName:
    file_name: str  # the original ImageNet name: n01440764_10026.JPEG, ILSVRC2012_val_00000001.JPEG
    synset: str | None  # the synset the hub's name states (None: it states none)
    problem: str | None = None  # why the name disagrees with itself, if it does


def parse_image_name(hub_name: str, split: str) -> ImageName | None:
    """The original file name and stated synset of a hub image name; None if it is no ImageNet name.

    A train name states its synset twice (prefix and suffix): they must agree.
    """
    name = hub_name.rsplit("/", 1)[-1]
    match = (_TRAIN_NAME if split == "train" else _VAL_NAME).match(name)
    if match is None:
        return None
    file_name = match["stem"] + match["ext"]
    suffix = match["suffix"]
    if split != "train":
        return ImageName(file_name, suffix)
    prefix = match["synset"]
    problem = None if suffix in (None, prefix) else f"its name states two synsets, {prefix} and {suffix}"
    return ImageName(file_name, prefix, problem)
