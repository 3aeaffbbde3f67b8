"""COCO pairs on the sample mirror: both splits' counts, the order, and every drop counted."""

import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.coco.pairs import build_coco_pairs
from mm_assets.datasets.coco.upstream import SPLITS
from mm_assets.datasets.pairs.validate import check_pairs_table
from mm_assets.samples.coco.mirror import HARD_CAPTIONS, SAMPLE_EXPECTED
from mm_assets_tests.helpers import install_coco_vg


@pytest.fixture(scope="module")
def layout(coco_vg_mirror, tmp_path_factory):
    return install_coco_vg(coco_vg_mirror, tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("split", ["karpathy", "train2014"])
def test_both_splits_counts_order_and_drops(layout, caption_encoder, split):
    built = build_coco_pairs(SPLITS[split], layout.coco, caption_encoder, workers=2)
    expected = SAMPLE_EXPECTED[split]
    table = pq.read_table(layout.coco.pairs)
    assert table.num_rows == expected["pairs"] == built.table.rows
    assert built.table.stats["coco"].images == expected["images"]
    for key, count in expected.items():
        if key.startswith(("dropped_", "captions_with_")):
            assert built.drops[key] == count, key
    assert built.table.counts["truncated_captions"] == expected["truncated_captions"]
    ids = table.column("image_id").to_pylist()
    assert ids == sorted(ids)  # by image id (then caption id: checked through the captions below)
    assert set(table.column("source").to_pylist()) == {"coco"}
    captions = table.column("caption").to_pylist()
    assert HARD_CAPTIONS[0].strip() in captions  # stripped, casing and inner text kept
    assert "A dog sitting on a couch\nnext to a cat." in captions  # inner newline kept
    assert "A cat sitting on a mat." in captions and "A bird  perched on a branch." in captions
    for image in table.column("image").to_pylist():
        assert (layout.root / image).is_file()
    report = check_pairs_table(layout.coco.pairs)
    assert report.problems.total() == 0 and report.rows == expected["pairs"]


def test_train2014_rows_are_the_annotation_files_captions_by_image_then_caption_id(layout, caption_encoder):
    """An independent reading of captions_train2014.json: well-formed annotations of known images,
    the first of each caption id in file order, sorted by (image id, caption id), cleaned, empty
    ones and those of images not on disk left out."""
    import json
    import zipfile

    from mm_assets.datasets.coco.upstream import ANNOTATIONS_ZIP, CAPTIONS_TRAIN2014
    from mm_assets.text.captions import clean_caption

    build_coco_pairs(SPLITS["train2014"], layout.coco, caption_encoder, workers=2)
    table = pq.read_table(layout.coco.pairs)
    with zipfile.ZipFile(layout.coco.raw(ANNOTATIONS_ZIP)) as archive:
        data = json.loads(archive.read(CAPTIONS_TRAIN2014))
    whole = lambda value: isinstance(value, int) and not isinstance(value, bool)  # noqa: E731
    files = {image["id"]: image["file_name"] for image in data["images"]
             if isinstance(image, dict) and whole(image.get("id")) and isinstance(image.get("file_name"), str)}
    on_disk = {path.name for path in (layout.coco.images_dir / "train2014").glob("*.jpg")}
    first_of_id = {}
    for note in data["annotations"]:
        if (isinstance(note, dict) and whole(note.get("image_id")) and whole(note.get("id"))
                and isinstance(note.get("caption"), str) and note["image_id"] in files):
            first_of_id.setdefault(note["id"], note)
    expected = [(note["image_id"], clean_caption(note["caption"]))
                for note in sorted(first_of_id.values(), key=lambda n: (n["image_id"], n["id"]))
                if clean_caption(note["caption"]) and files[note["image_id"]] in on_disk]
    assert len(expected) == SAMPLE_EXPECTED["train2014"]["pairs"]
    assert list(zip(table.column("image_id").to_pylist(), table.column("caption").to_pylist())) == expected


def test_captions_of_an_image_follow_caption_ids(layout, caption_encoder):
    from mm_assets.common.counts import Tally
    from mm_assets.datasets.coco.captions import ordered_unique, read_train2014

    captions = ordered_unique(read_train2014(layout.coco.raw("annotations/annotations_trainval2014.zip"), Tally()),
                              Tally())
    keys = [(c.image_id, c.caption_id) for c in captions]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
