"""The pinned class list, checked against what torchvision ships offline, and hub file names."""

import pytest

from mm_assets.datasets.imagenet.synsets import label_of_synset, parse_image_name, pinned_synsets


def test_the_pinned_list_is_the_sorted_1000_synsets():
    synsets = pinned_synsets()
    assert len(synsets) == 1000 == len(set(synsets)) and list(synsets) == sorted(synsets)
    assert synsets[0] == "n01440764" and synsets[-1] == "n15075141"
    assert label_of_synset()["n01751748"] == 65  # ILSVRC2012_val_00000001, a sea snake


def test_positions_agree_with_torchvision_class_names():
    """torchvision's ImageNet weights list the 1,000 class names in label order, and Imagenette
    names ten synsets: each of those synsets sits where torchvision puts its name."""
    from torchvision.datasets.imagenette import Imagenette
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    labels = label_of_synset()
    for synset, names in Imagenette._WNID_TO_CLASS.items():
        assert _IMAGENET_CATEGORIES[labels[synset]].lower() in {name.lower() for name in names}, synset


@pytest.mark.parametrize("hub_name,split,expected", [
    ("n01440764_10026_n01440764.JPEG", "train", ("n01440764_10026.JPEG", "n01440764", None)),
    ("n01440764_10026.JPEG", "train", ("n01440764_10026.JPEG", "n01440764", None)),
    ("n01440764_10026_n01443537.JPEG", "train",
     ("n01440764_10026.JPEG", "n01440764", "its name states two synsets, n01440764 and n01443537")),
    ("ILSVRC2012_val_00000001_n01751748.JPEG", "val", ("ILSVRC2012_val_00000001.JPEG", "n01751748", None)),
    ("ILSVRC2012_val_00000001.JPEG", "val", ("ILSVRC2012_val_00000001.JPEG", None, None)),
])
def test_hub_names(hub_name, split, expected):
    name = parse_image_name(hub_name, split)
    assert (name.file_name, name.synset, name.problem) == expected


def test_names_that_are_not_imagenet_names():
    assert parse_image_name("ILSVRC2012_val_00000001_n01751748.JPEG", "train") is None
    assert parse_image_name("cat.jpg", "val") is None
