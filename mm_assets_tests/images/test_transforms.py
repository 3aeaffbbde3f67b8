"""The thesis's augmentation: its exact parameters, torchvision's own random draws, and its output."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from mm_assets.images.transforms import (
    CropPlan,
    SeedTransform,
    pil_to_tensor,
    random_resized_crop_params,
    seed_transform,
)
from mm_assets.samples.synthetic_images import photo_like


def test_the_parameters_are_the_seeds():
    train, pairs, val = seed_transform("train"), seed_transform("train", image_text=True), seed_transform("val")
    assert (train.train, train.size, train.scale, train.ratio) == (True, 224, (0.08, 1.0), (3 / 4, 4 / 3))
    assert pairs.scale == (0.6, 1.0) and val.train is False
    for transform in (train, pairs, val):
        assert transform.mean == (0.485, 0.456, 0.406) and transform.std == (0.229, 0.224, 0.225)
        assert transform.interpolation.value == "bicubic" and transform.flip_probability == 0.5
    crop, flip, to_tensor, normalize = train.reference().transforms
    assert isinstance(crop, T.RandomResizedCrop) and crop.size == (224, 224) and crop.scale == (0.08, 1.0)
    assert crop.interpolation == T.InterpolationMode.BICUBIC and isinstance(flip, T.RandomHorizontalFlip)
    assert isinstance(to_tensor, T.ToTensor) and normalize.mean == (0.485, 0.456, 0.406)
    resize = val.reference().transforms[0]
    assert isinstance(resize, T.Resize) and resize.size == (224, 224)
    with pytest.raises(ValueError):
        seed_transform("test")


@pytest.mark.parametrize("size", [(500, 375), (375, 500), (4000, 100), (50, 60)])
def test_the_draws_are_torchvisions_draw_for_draw(size):
    width, height = size
    for seed in range(40):
        torch.manual_seed(seed)
        expected = T.RandomResizedCrop.get_params(torch.empty(3, height, width), [0.08, 1.0], [3 / 4, 4 / 3])
        flip = bool(torch.rand(1) < 0.5)
        generator = torch.Generator().manual_seed(seed)
        plan = seed_transform("train").plan(width, height, generator)
        assert (plan.top, plan.left, plan.height, plan.width, plan.flip) == (*expected, flip)


def test_crops_stay_inside_and_cover_the_scale_range():
    areas = []
    for seed in range(300):
        plan = seed_transform("train", image_text=True).plan(640, 480, torch.Generator().manual_seed(seed))
        assert 0 <= plan.top and plan.top + plan.height <= 480 and plan.left + plan.width <= 640
        areas.append(plan.width * plan.height / (640 * 480))
    assert 0.59 <= min(areas) < 0.65 and max(areas) > 0.95
    fallback = random_resized_crop_params(1000, 10, (0.08, 1.0), (3 / 4, 4 / 3), torch.Generator().manual_seed(0))
    assert fallback == (0, 493, 10, 13)  # torchvision's central crop when no draw fits


def test_output_shape_dtype_and_normalisation():
    transform = seed_transform("val")
    grey = Image.new("RGB", (300, 200), tuple(round(255 * m) for m in transform.mean))
    out = transform(grey)
    assert out.shape == (3, 224, 224) and out.dtype == torch.float32 and out.is_contiguous()
    assert out.abs().max() < 0.01  # the mean colour normalises to zero
    white = transform(Image.new("RGB", (64, 64), (255, 255, 255)))
    expected = [(1 - m) / s for m, s in zip(transform.mean, transform.std)]
    assert torch.allclose(white.mean(dim=(1, 2)), torch.tensor(expected), atol=1e-5)


def test_output_equals_torchvisions_pil_pipeline_with_the_same_draws():
    """The same crop and flip through torchvision's PIL transforms (Pillow's bicubic) gives the
    same image up to the two resamplers' rounding."""
    pixels = photo_like(np.random.default_rng(1), 500, 375)
    image = Image.fromarray(pixels)
    train = seed_transform("train")
    for seed in range(5):
        torch.manual_seed(seed)
        reference = train.reference()(image)
        ours = train(pil_to_tensor(image), torch.Generator().manual_seed(seed))
        assert (ours - reference).abs().mean() < 0.01 and (ours - reference).abs().max() < 0.1
    val = seed_transform("val")
    assert (val(image) - val.reference()(image)).abs().mean() < 0.01


def test_output_statistics_on_photo_like_images():
    transform = seed_transform("train")
    rng = np.random.default_rng(0)
    outs = torch.stack([transform(pil_to_tensor(Image.fromarray(photo_like(rng, 320, 240))),
                                  torch.Generator().manual_seed(i)) for i in range(16)])
    assert outs.shape == (16, 3, 224, 224)
    assert -1.5 < outs.mean() < 1.5 and 0.2 < outs.std() < 1.5
    assert outs.min() >= (0 - 0.485) / 0.229 - 1e-4 and outs.max() <= (1 - 0.406) / 0.225 + 1e-4


def test_a_plan_for_a_reduced_decode_is_scaled():
    transform = SeedTransform(train=True)
    full = pil_to_tensor(Image.fromarray(photo_like(np.random.default_rng(2), 800, 600)))
    half = pil_to_tensor(Image.fromarray(full.permute(1, 2, 0).numpy()).resize((400, 300), Image.BOX))
    plan = CropPlan(100, 200, 480, 560, flip=True)
    a = transform.apply(full, plan)
    b = transform.apply(half, plan, source_size=(800, 600))
    assert (a - b).abs().mean() < 0.08  # about 3 levels of 255 on this high-detail image
