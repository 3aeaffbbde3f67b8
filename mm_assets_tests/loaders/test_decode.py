"""Decoding for the transform: the same pixels as Pillow, the reference pipeline's output, and
reduced decodes (opt-in) only when the crop allows."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from mm_assets.images.transforms import CropPlan, pil_to_tensor, seed_transform
from mm_assets.loaders.decode import decode_and_transform, decode_rgb, jpeg_size, reduction_for
from mm_assets.samples.synthetic_images import encode, photo_jpeg, photo_like


@pytest.mark.parametrize("image_format,mode", [("JPEG", "RGB"), ("JPEG", "L"), ("JPEG", "CMYK"), ("PNG", "RGB")])
def test_full_decodes_equal_pillows(image_format, mode):
    data = encode(photo_like(np.random.default_rng(0), 120, 90), image_format, mode=mode)
    pixels = decode_rgb(data)
    assert pixels.shape == (3, 90, 120) and pixels.dtype == torch.uint8
    assert torch.equal(pixels, pil_to_tensor(Image.open(io.BytesIO(data))))


def test_reduction_needs_the_crop_to_keep_the_output_size():
    assert reduction_for(CropPlan(0, 0, 447, 1000, False), 224) == 1
    assert reduction_for(CropPlan(0, 0, 448, 900, False), 224) == 2
    assert reduction_for(CropPlan(0, 0, 1800, 1792, False), 224) == 8
    assert reduction_for(CropPlan(0, 0, 1000, 1000, False), 224) == 4


def test_a_reduced_decode_stays_close_to_the_full_one():
    data = photo_jpeg(np.random.default_rng(3), 1200, 1000)
    transform = seed_transform("val")  # the whole image: a 4x reduction is allowed
    reduced = decode_and_transform(data, transform, reduced_decode=True)
    full = decode_and_transform(data, transform, reduced_decode=False)
    assert reduced.shape == full.shape == (3, 224, 224)
    assert 0 < (reduced - full).abs().mean() < 0.08  # DCT-scaled vs full decode, about 3 levels of 255
    assert torch.equal(full, decode_and_transform(data, transform))  # full decodes are the default
    small = photo_jpeg(np.random.default_rng(4), 300, 200)  # too small to reduce: identical
    assert torch.equal(decode_and_transform(small, transform, reduced_decode=True),
                       decode_and_transform(small, transform, reduced_decode=False))


@pytest.mark.parametrize("image_text", [False, True])
def test_bytes_in_give_the_reference_pipelines_image_out(image_text):
    """From the encoded bytes: the default loaders' path against PIL + torchvision's PIL transforms
    with the same draws, within the resamplers' rounding (under 1 level of 255 on average)."""
    transform = seed_transform("train", image_text=image_text)
    levels = torch.tensor(transform.std).view(3, 1, 1) * 255
    for seed in range(4):
        data = photo_jpeg(np.random.default_rng(10 + seed), 640, 480)
        torch.manual_seed(seed)
        reference = transform.reference()(Image.open(io.BytesIO(data)).convert("RGB"))
        ours = decode_and_transform(data, transform, torch.Generator().manual_seed(seed))
        assert ((ours - reference).abs() * levels).mean() < 1.0


def test_the_draws_come_from_the_generator():
    data = photo_jpeg(np.random.default_rng(5), 400, 300)
    transform = seed_transform("train")
    a = decode_and_transform(data, transform, torch.Generator().manual_seed(1))
    b = decode_and_transform(data, transform, torch.Generator().manual_seed(1))
    c = decode_and_transform(data, transform, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_jpeg_size_reads_the_frame_header():
    rng = np.random.default_rng(6)
    for width, height, mode in ((123, 45, "RGB"), (64, 640, "L"), (300, 200, "CMYK")):
        assert jpeg_size(encode(photo_like(rng, width, height), "JPEG", mode=mode)) == (width, height)
    progressive = io.BytesIO()
    Image.fromarray(photo_like(rng, 90, 70)).save(progressive, "JPEG", progressive=True)
    assert jpeg_size(progressive.getvalue()) == (90, 70)
    assert jpeg_size(encode(photo_like(rng, 20, 10), "PNG")) is None
    assert jpeg_size(b"\xff\xd8\xff") is None
