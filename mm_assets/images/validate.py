"""Is this really a whole, sane image? Decoded fully by Pillow, within size and pixel caps.

A JPEG is decoded at 1/8 scale (libjpeg's DCT scaling): every byte of its entropy-coded data is
still decoded, and only that can be truncated or corrupt, so the verdict is the one a full-scale
decode gives (a test compares both on a corpus of damaged baseline and progressive files) at less
cost; the width and height reported are the file's own. A still WebP is decoded by libwebp's
plain decoder (`images/libwebp.py`), not by the animation decoder Pillow uses for every WebP, which
costs 1.6x as much for the same verdict. An animation (GIF, WebP, APNG) has every frame decoded:
the first frame alone says nothing of a file cut short after it.

Every dataset that fetches or indexes images asks the same question, and counts the answers the
same way: `InvalidImage.reason` is a short key (`not_an_image`, `truncated`, `too_small`,
`too_many_pixels`, `undecodable`) for `dropped_<reason>` counts. Whatever a malformed file makes
Pillow raise is one of these reasons, never an exception that would stop a crawl of millions.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from mm_assets.images.libwebp import plain_webp_decoder

# Pillow's own decompression-bomb threshold (89,478,485 pixels).
PILLOW_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


class InvalidImage(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: JPEG, PNG, WEBP, GIF, ...
    width: int
    height: int
    mode: str


def inspect_image(data: bytes, *, min_side: int = 1, max_pixels: int = PILLOW_MAX_PIXELS) -> ImageInfo:
    """Open, check the size, then decode every pixel; raise `InvalidImage` saying why not."""
    if not data:
        raise InvalidImage("not_an_image", "empty")
    try:
        # No warnings.catch_warnings() here: it swaps process-wide state and is not thread-safe,
        # and images are judged on several threads. Pillow refuses twice its cap itself; between
        # its cap and twice it warns, and the size check below refuses by our own cap.
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise InvalidImage("too_many_pixels", str(exc)) from None
    except (Image.UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "not_an_image"
        raise InvalidImage(reason, f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:  # a malformed file can trip any error inside a decoder's parser
        raise InvalidImage("undecodable", f"{type(exc).__name__}: {exc}") from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise InvalidImage("too_many_pixels", f"{width}x{height} is more than {max_pixels:,} pixels")
        if min(width, height) < min_side:
            raise InvalidImage("too_small", f"{width}x{height} is under {min_side} px on a side")
        mode = image.mode
        if image.format == "JPEG":
            image.draft(mode, (max(1, width // 8), max(1, height // 8)))
        still_webp = image.format == "WEBP" and not getattr(image, "is_animated", False)
        if still_webp and (decoder := plain_webp_decoder()) is not None:
            failure = decoder.decode(bytes(data))
            if failure is not None:
                raise InvalidImage("truncated" if "truncated" in failure else "undecodable", f"WebP: {failure}")
            return ImageInfo(image.format, width, height, mode)
        try:
            image.load()  # decodes all the data: a truncated or corrupt file fails here
            for frame in range(1, getattr(image, "n_frames", 1)):  # an animation: every frame's data too
                image.seek(frame)
                image.load()
        except OSError as exc:
            reason = "truncated" if "truncated" in str(exc).lower() else "undecodable"
            raise InvalidImage(reason, f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:  # SyntaxError, ValueError, EOFError, struct.error, IndexError, ...
            raise InvalidImage("undecodable", f"{type(exc).__name__}: {exc}") from None
        return ImageInfo(image.format or "unknown", width, height, mode)
