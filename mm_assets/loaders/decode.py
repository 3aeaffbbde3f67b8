"""Encoded image bytes -> the thesis's transform's output, decoding no more than the crop needs.

The crop is planned from the image's size, read from its JPEG frame header alone; then a JPEG is
decoded in full by `torchvision.io.decode_jpeg` (libjpeg-turbo, the same pixels as Pillow). Other
formats (ImageNet holds a few PNGs named .JPEG) are decoded by Pillow.

With `reduced_decode=True`, a JPEG whose planned crop is at least twice the output size on both
sides is decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling (Pillow's draft mode): the
crop still has at least as many pixels as the output. It is off by default: on photographs the
decoder's time goes mostly to entropy decoding, which DCT scaling does not shorten (1/2 scale
saves about 20%, 1/8 about 35%), while the pixels move away from the reference's: the DCT
downscale, and the crop box rounded to the reduced grid (up to one source pixel), give about 5
levels of 255 on average on an image-text crop. The pixels stay uint8 and channels-last until the resize
(torch's vectorised antialiased resize is fastest on that layout), and EXIF orientation is not
applied (as torchvision's `ImageFolder` loader does not apply it).
"""

from __future__ import annotations

import io
import warnings

import torch
from PIL import Image
from torchvision.io import ImageReadMode, decode_jpeg

from mm_assets.images.transforms import CropPlan, SeedTransform, pil_to_tensor

JPEG_REDUCTIONS = (8, 4, 2)  # libjpeg's DCT scaling factors
# torchvision 0.29 says its decoders will give way to TorchCodec's; until then decode_jpeg is the
# fastest JPEG decoder installed, and saying so on every image would drown a training log.
warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision",
                        category=DeprecationWarning)


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # frame headers (not DHT, JPG, DAC)


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, or None if `data` is not a JPEG we can walk.

    Walking the markers is a few microseconds; opening the image with Pillow to learn its size
    costs about as much as a tenth of decoding it.
    """
    if data[:2] != b"\xff\xd8":
        return None
    position, end = 2, len(data)
    while position + 9 <= end:
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _SOF_MARKERS:
            height = int.from_bytes(data[position + 5:position + 7], "big")
            width = int.from_bytes(data[position + 7:position + 9], "big")
            return (width, height) if width and height else None
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
    return None


def reduction_for(plan: CropPlan, out_size: int) -> int:
    """The largest DCT reduction that leaves the crop at least `out_size` pixels on both sides."""
    for factor in JPEG_REDUCTIONS:
        if plan.width >= factor * out_size and plan.height >= factor * out_size:
            return factor
    return 1


def _channels_last(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.permute(1, 2, 0).contiguous().permute(2, 0, 1)


def decode_rgb(data: bytes) -> torch.Tensor:
    """All the pixels, RGB uint8 (3, h, w): libjpeg-turbo for a JPEG, Pillow for anything else."""
    if data[:2] == b"\xff\xd8":
        try:
            return _channels_last(decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8),
                                              mode=ImageReadMode.RGB))
        except RuntimeError:
            pass  # a JPEG variant libjpeg-turbo refuses here: Pillow may still read it
    return pil_to_tensor(Image.open(io.BytesIO(data)))


def decode_and_transform(data: bytes, transform: SeedTransform, generator: torch.Generator | None = None,
                         *, reduced_decode: bool = False) -> torch.Tensor:
    """The transform's output for one encoded image, its random draws taken from `generator`."""
    size = jpeg_size(data)
    image = None if size else Image.open(io.BytesIO(data))
    width, height = size or image.size
    plan = transform.plan(width, height, generator)
    factor = reduction_for(plan, transform.size) if reduced_decode and size else 1
    if factor > 1:
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (width // factor, height // factor))
        pixels = pil_to_tensor(image)
    elif size:
        pixels = decode_rgb(data)
    else:
        pixels = pil_to_tensor(image)  # not a JPEG (ImageNet holds a few PNGs named .JPEG)
    return transform.apply(pixels, plan, source_size=(width, height))
