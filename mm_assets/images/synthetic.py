"""Small real images for sample mirrors and tests: JPEGs that Pillow made and decodes fully."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw


def small_jpeg(rng: random.Random, *, min_side: int = 16, max_side: int = 64) -> bytes:
    """A JPEG of random size and colours (a gradient and a box), seeded by `rng`."""
    width, height = rng.randint(min_side, max_side), rng.randint(min_side, max_side)
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 4):
        draw.line([(x, 0), (x, height)], fill=(x * 4 % 256, rng.randrange(256), 128))
    box = sorted(rng.sample(range(min(width, height)), 2))
    draw.rectangle([box[0], box[0], box[1], box[1]], fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()
