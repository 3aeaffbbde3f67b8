"""The thesis's image augmentation (docs/data-rules.md, 'Image augmentation'), as one function with settings.

Training: RandomResizedCrop to 224x224 (area scale (0.08, 1.0) for image-only data, (0.6, 1.0)
for image-text data; aspect ratio (3/4, 4/3); bicubic), then a horizontal flip with probability
0.5, then normalisation with the ImageNet mean and std. Validation: the whole image resized to
224x224 (bicubic), then normalised. `seed_transform(split, image_text=...)` gives it.

The random draws are torchvision's own algorithm (`RandomResizedCrop.get_params`, then the flip's
`torch.rand(1) < 0.5`), drawn from a `torch.Generator` the caller seeds per sample, so a loader is
deterministic whatever its worker count. The pixels are computed on uint8 tensors
(`torchvision.transforms.v2`, antialiased bicubic), and the crop is planned from the image's size
alone, so the decoder can be chosen for the crop (`mm_assets.loaders.decode`).
`SeedTransform.reference()` is the same augmentation written the usual way (torchvision's PIL
transforms), for comparisons and benchmarks.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SIZE = 224
IMAGE_ONLY_SCALE = (0.08, 1.0)
IMAGE_TEXT_SCALE = (0.6, 1.0)
ASPECT_RATIO = (3.0 / 4.0, 4.0 / 3.0)
FLIP_PROBABILITY = 0.5


@dataclass(frozen=True)
class CropPlan:
    """Where to crop (in the source image's pixels) and whether to flip."""

    top: int
    left: int
    height: int
    width: int
    flip: bool


@dataclass(frozen=True)
class SeedTransform:
    train: bool
    scale: tuple[float, float] = IMAGE_ONLY_SCALE
    ratio: tuple[float, float] = ASPECT_RATIO
    size: int = IMAGE_SIZE
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    flip_probability: float = FLIP_PROBABILITY
    interpolation: v2.InterpolationMode = v2.InterpolationMode.BICUBIC

    def plan(self, width: int, height: int, generator: torch.Generator | None = None) -> CropPlan:
        """The random draws for one image of this size: torchvision's algorithm, on `generator`."""
        if not self.train:
            return CropPlan(0, 0, height, width, False)
        top, left, crop_height, crop_width = random_resized_crop_params(
            width, height, self.scale, self.ratio, generator)
        flip = bool(torch.rand(1, generator=generator) < self.flip_probability)
        return CropPlan(top, left, crop_height, crop_width, flip)

    def apply(self, pixels: torch.Tensor, plan: CropPlan, source_size: tuple[int, int] | None = None) -> torch.Tensor:
        """Crop, resize, flip and normalise a uint8 (3, h, w) tensor into float (3, size, size).

        `source_size` (width, height) is the size `plan` was made for, when `pixels` was decoded
        at a reduced scale; the crop box is then scaled to `pixels`.
        """
        top, left, height, width = _scaled_box(plan, pixels.shape[-1], pixels.shape[-2], source_size)
        out = F.resized_crop(pixels, top, left, height, width, [self.size, self.size],
                             interpolation=self.interpolation, antialias=True)
        if plan.flip:
            out = out.flip(-1)
        return self.normalize(out)

    @functools.cached_property
    def _scaled_mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1) * 255,
                torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1) * 255)

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 (..., 3, h, w) -> float32, ((x / 255) - mean) / std, contiguous."""
        mean, std = self._scaled_mean_std
        return torch.sub(pixels.contiguous().float(), mean).div_(std)

    def __call__(self, image: Image.Image | torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The whole augmentation on a PIL image or a uint8 (3, h, w) tensor."""
        pixels = pil_to_tensor(image) if isinstance(image, Image.Image) else image
        plan = self.plan(pixels.shape[-1], pixels.shape[-2], generator)
        return self.apply(pixels, plan)

    def reference(self):
        """The same augmentation as the usual torchvision composition over PIL images."""
        from torchvision import transforms as T

        interpolation = T.InterpolationMode(self.interpolation.value)
        if self.train:
            steps = [T.RandomResizedCrop(self.size, scale=self.scale, ratio=self.ratio, interpolation=interpolation),
                     T.RandomHorizontalFlip(self.flip_probability)]
        else:
            steps = [T.Resize((self.size, self.size), interpolation=interpolation)]
        return T.Compose([*steps, T.ToTensor(), T.Normalize(self.mean, self.std)])


def seed_transform(split: Literal["train", "val"], *, image_text: bool = False,
                   size: int = IMAGE_SIZE) -> SeedTransform:
    """The thesis's training (`train`) or validation (`val`) transform; `image_text` picks the
    image-text crop scale (0.6, 1.0) instead of the image-only (0.08, 1.0)."""
    if split not in ("train", "val"):
        raise ValueError(f"split {split!r}: expected 'train' or 'val'")
    return SeedTransform(train=split == "train", scale=IMAGE_TEXT_SCALE if image_text else IMAGE_ONLY_SCALE,
                         size=size)


def random_resized_crop_params(width: int, height: int, scale, ratio,
                               generator: torch.Generator | None = None) -> tuple[int, int, int, int]:
    """(top, left, height, width): torchvision's `RandomResizedCrop.get_params`, draw for draw."""
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1], generator=generator).item()
        aspect_ratio = torch.exp(
            torch.empty(1).uniform_(log_ratio[0].item(), log_ratio[1].item(), generator=generator)).item()
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            i = torch.randint(0, height - h + 1, size=(1,), generator=generator).item()
            j = torch.randint(0, width - w + 1, size=(1,), generator=generator).item()
            return i, j, h, w
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w = width
        h = int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        h = height
        w = int(round(h * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def _scaled_box(plan: CropPlan, width: int, height: int, source_size: tuple[int, int] | None):
    if source_size is None or source_size == (width, height):
        return plan.top, plan.left, plan.height, plan.width
    fx, fy = width / source_size[0], height / source_size[1]
    top, left = min(round(plan.top * fy), height - 1), min(round(plan.left * fx), width - 1)
    return (top, left, max(1, min(round(plan.height * fy), height - top)),
            max(1, min(round(plan.width * fx), width - left)))


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB uint8 (3, h, w) tensor of a PIL image's pixels (channels-last in memory)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    width, height = rgb.size
    return torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8).view(height, width, 3).permute(2, 0, 1)
