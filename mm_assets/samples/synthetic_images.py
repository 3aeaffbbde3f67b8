"""Photo-like images for samples, tests and benchmarks, made offline and deterministically.

A decoder's speed depends on what it decodes: flat synthetic colours compress to almost nothing
and decode several times faster than photographs. These images have a photograph's statistics
instead: each channel is a Gaussian field with a 1/f^a amplitude spectrum (a in 0.9..1.2, as in
natural scenes), correlated across channels, so a JPEG at quality 90 takes about 0.5 bytes per
pixel, as ImageNet's photographs do (~110 KB for 500x375).
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image


def photo_like(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """An RGB uint8 array of shape (height, width, 3)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    frequency = np.sqrt(fx ** 2 + fy ** 2)
    frequency[0, 0] = 1.0
    amplitude = 1.0 / frequency ** rng.uniform(0.9, 1.2)
    shape = (height, width // 2 + 1)
    shared = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    channels = []
    for _ in range(3):
        own = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        field = np.fft.irfft2((0.7 * shared + 0.3 * own) * amplitude, s=(height, width))
        field = (field - field.mean()) / (field.std() + 1e-9)
        channels.append(field * rng.uniform(30, 60) + rng.uniform(60, 190))
    return np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, image_format: str = "JPEG", *, mode: str = "RGB", quality: int = 90) -> bytes:
    """`pixels` encoded; `mode` converts first (L for grayscale, CMYK for a CMYK JPEG)."""
    image = Image.fromarray(pixels).convert(mode)
    buffer = io.BytesIO()
    options = {"quality": quality} if image_format == "JPEG" else {}
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def photo_jpeg(rng: np.random.Generator, width: int, height: int, *, quality: int = 90, mode: str = "RGB") -> bytes:
    return encode(photo_like(rng, width, height), "JPEG", mode=mode, quality=quality)


def small_jpeg(rng: random.Random, *, min_side: int = 16, max_side: int = 64) -> bytes:
    """A small photo-like JPEG of random size, drawn from a `random.Random` (sample mirrors)."""
    width, height = rng.randint(min_side, max_side), rng.randint(min_side, max_side)
    return photo_jpeg(np.random.default_rng(rng.getrandbits(64)), width, height, quality=85)
