"""The contact sheet: the loaders' own augmentation, seeded sampling, cut captions marked on the
sheet, the same PNG bytes for the same data, and a size well under 1 MB."""

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mm_assets.images.transforms import seed_transform
from mm_assets.layout import DataLayout
from mm_assets.loaders.pairs import ImageTextPairs
from mm_assets.pictures.contact_sheet import (
    CROP_SCALES,
    CUT_MARK,
    SHEET_BUDGET,
    build_rows,
    caption_text,
    crop_panels,
    crop_transforms,
    image_bytes,
    render_sheet,
    sample_examples,
    sheet_png,
    to_uint8,
)
from mm_assets.pictures.png import MAX_PNG_BYTES
from mm_assets.text.decode import TokenDecoder
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles

from .sample_data import LONG_CAPTION

SEED = 11


@pytest.fixture(scope="module")
def decoder(bpe_dir):
    return TokenDecoder(Gpt2BpeFiles(bpe_dir))


def _tables(root):
    layout = DataLayout(root)
    return {"coco": layout.pairs.manifest, "vg": layout.pairs.manifest, "vg_concat": layout.vg.concat_pairs,
            "cc3m": layout.pairs.manifest}


def test_the_crop_transforms_are_the_loaders_with_only_the_scale_changed(pictures_root):
    image_only, image_text, wide = crop_transforms()
    assert [t.scale for t in crop_transforms()] == list(CROP_SCALES) == [(0.08, 1.0), (0.6, 1.0), (0.9, 1.0)]
    assert image_only == seed_transform("train")
    assert image_text == seed_transform("train", image_text=True) == ImageTextPairs(pictures_root).transform
    assert wide == dataclasses.replace(image_text, scale=(0.9, 1.0))


def test_each_panel_is_what_the_loader_gives_for_that_row_and_seed(pictures_root):
    """The (0.6, 1) panel of manifest row r is ImageTextPairs(seed)[r]'s image; the (0.08, 1) one is
    the same loader with the image-only transform. Same seed, three different crops."""
    loader = ImageTextPairs(pictures_root, seed=SEED)
    image_only = ImageTextPairs(pictures_root, seed=SEED, transform=seed_transform("train"))
    for row in (0, 7, len(loader) - 1):  # COCO, VG, CC3M (a shard member)
        crops = crop_panels(loader.image_bytes(row), SEED, row)
        assert np.array_equal(crops[1].pixels, to_uint8(loader[row]["image"], loader.transform))
        assert np.array_equal(crops[0].pixels, to_uint8(image_only[row]["image"], image_only.transform))
        assert crops[0].pixels.shape == (224, 224, 3)
        assert len({c.box for c in crops}) == 3
    other_seed = crop_panels(loader.image_bytes(0), SEED + 1, 0)
    assert not np.array_equal(other_seed[1].pixels, crop_panels(loader.image_bytes(0), SEED, 0)[1].pixels)


def test_a_caption_cut_at_64_tokens_is_marked_and_drawn_on_the_sheet(pictures_root, decoder, caption_encoder,
                                                                     monkeypatch):
    examples = sample_examples(_tables(pictures_root), pictures_root, per_source=1, seed=SEED)
    (long,) = [e for e in examples if e.caption == LONG_CAPTION]  # the one at the limit is always shown
    text = caption_text(long, decoder, caption_encoder)
    full = int(caption_encoder.bpe_lengths([LONG_CAPTION])[0]) + 2
    assert text.cut and text.full_tokens == full > 64 and len(long.tokens) == 64
    assert text.text.startswith("<s>the 0th small red boat") and "</s> [CUT at 64 tokens" in text.text
    assert f"{full} in full" in text.text
    short = next(e for e in examples if e.source == "cc3m")
    assert caption_text(short, decoder, caption_encoder).text == f"<s>{short.caption}</s>"

    drawn = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(ImageDraw.ImageDraw, "text",
                        lambda self, xy, text, *a, **k: (drawn.append(text), original(self, xy, text, *a, **k))[1])
    render_sheet(build_rows(examples, pictures_root, decoder, caption_encoder, SEED), SEED)
    sheet_text = " ".join(drawn)
    assert "[CUT at 64 tokens:" in sheet_text and f"{full} in full" in sheet_text
    assert "</s>" in sheet_text and CUT_MARK.startswith("[CUT")


def test_sampling_is_seeded_and_covers_every_source(pictures_root):
    first = sample_examples(_tables(pictures_root), pictures_root, per_source=2, seed=SEED)
    assert first == sample_examples(_tables(pictures_root), pictures_root, per_source=2, seed=SEED)
    assert [e.source for e in first] == ["coco"] * 2 + ["vg"] * 2 + ["vg_concat"] * 2 + ["cc3m"] * 2
    others = [sample_examples(_tables(pictures_root), pictures_root, per_source=2, seed=s) for s in range(5)]
    assert any(o != first for o in others)
    for example in first:  # each row is the table's own row
        assert image_bytes(pictures_root, example.image)[:2] == b"\xff\xd8"


def test_the_same_data_gives_the_same_png_bytes_under_1_mb(pictures_root, decoder, caption_encoder):
    def draw():
        examples = sample_examples(_tables(pictures_root), pictures_root, per_source=3, seed=SEED)
        return sheet_png(render_sheet(build_rows(examples, pictures_root, decoder, caption_encoder, SEED), SEED))

    png = draw()
    assert png == draw()
    assert len(png) <= SHEET_BUDGET < MAX_PNG_BYTES
    assert b"tIME" not in png and b"tEXt" not in png and b"iTXt" not in png
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.width > 4 * 160


def test_a_sheet_over_the_budget_is_quantized_then_shrunk_deterministically():
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (900, 1200, 3), dtype=np.uint8))
    png = sheet_png(noise, budget=300_000)
    assert len(png) <= 300_000 and png == sheet_png(noise, budget=300_000)
    with Image.open(io.BytesIO(png)) as image:
        assert image.mode == "P" and image.width < 1200


def test_rows_are_taken_across_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mm_assets.pictures.contact_sheet import _take_rows

    pq.write_table(pa.table({"n": list(range(20))}), tmp_path / "t.parquet", row_group_size=3)
    rows = np.array([0, 4, 5, 6, 17, 19])
    assert _take_rows(tmp_path / "t.parquet", rows, ["n"])["n"].to_pylist() == rows.tolist()
