"""CC3M's rule for a fetched image: what is kept, and the one reason for what is not.

Kept: status 200, bytes that sniff as an image format, decoded fully by Pillow, each side at
least `min_side`, at most `max_bytes` and `max_pixels`, not a placeholder (known URL or redirect
target, known hash). The bytes kept are the bytes served, unless a resize is asked for
(`resize_max_side`). Placeholders by repetition are decided later, over all shards
(`mm_assets.datasets.cc3m.subset`).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image

from mm_assets.fetch.content import sniff
from mm_assets.fetch.crawl import DEFAULT_MAX_BYTES, CrawlResult
from mm_assets.fetch.outcomes import CRAWL_CLASSES, NOT_AN_IMAGE, OK
from mm_assets.images.placeholders import known_placeholder, placeholder_url
from mm_assets.images.validate import PILLOW_MAX_PIXELS, InvalidImage, inspect_image

PLACEHOLDER = "placeholder"
IMAGE_REASONS = ("truncated", "too_small", "too_many_pixels", "undecodable")  # from inspect_image
STATUSES = CRAWL_CLASSES + IMAGE_REASONS + (PLACEHOLDER,)
# Re-encoding when a resize is asked for: the format served, at high quality.
_SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}, "PNG": {"optimize": False}}
_EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp", "PNG": "png"}


@dataclass(frozen=True)
class ImageRules:
    min_side: int = 32
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = PILLOW_MAX_PIXELS
    resize_max_side: int = 0  # 0: store the bytes served

    def identity(self) -> dict:
        return {"min_side": self.min_side, "max_bytes": self.max_bytes, "max_pixels": self.max_pixels,
                "resize_max_side": self.resize_max_side}


@dataclass(frozen=True)
class Judged:
    """One row's outcome. `data` (the bytes to store) is set only when `status` is ok."""

    status: str
    detail: str = ""
    http_status: int | None = None
    sha256: str | None = None  # of the stored bytes; of the served bytes for a placeholder
    width: int | None = None
    height: int | None = None
    extension: str | None = None
    data: bytes | None = None
    served: dict | None = None  # for a resized image: the served bytes' size and hash

    def header(self) -> dict:
        """What the shard's index and the sample's .json record (no bytes, nothing timed)."""
        header = {"status": self.status, "detail": self.detail, "http_status": self.http_status,
                  "sha256": self.sha256, "width": self.width, "height": self.height,
                  "format": self.extension, "bytes": len(self.data) if self.data is not None else None}
        if self.served:
            header["served"] = self.served
        return header


def judge(result: CrawlResult, rules: ImageRules) -> Judged:
    """Apply the rule to a fetch; runs Pillow, so call it off the event loop."""
    if result.status != OK:
        return Judged(result.status, result.detail, result.http_status)
    body = result.body or b""
    sha256 = hashlib.sha256(body).hexdigest()
    why = (placeholder_url(result.url, redirected=False)
           or (placeholder_url(result.final_url, redirected=True) if result.redirects else None)
           or known_placeholder(hashlib.md5(body, usedforsecurity=False).hexdigest(), result.etag))
    if why:
        return Judged(PLACEHOLDER, why, result.http_status, sha256=sha256)
    kind = sniff(body[:1024])
    if kind.image_extension is None:
        return Judged(NOT_AN_IMAGE, f"the bytes are {kind.name}", result.http_status)
    try:
        info = inspect_image(body, min_side=rules.min_side, max_pixels=rules.max_pixels)
    except InvalidImage as exc:
        return Judged(exc.reason, str(exc), result.http_status)
    if rules.resize_max_side and max(info.width, info.height) > rules.resize_max_side:
        try:
            data, width, height, extension = _resized(body, rules.resize_max_side)
        except Exception as exc:  # it decoded once; a failure to re-encode is the image's, not ours
            return Judged("undecodable", f"resize failed: {type(exc).__name__}: {exc}", result.http_status)
        return Judged(OK, "", result.http_status, sha256=hashlib.sha256(data).hexdigest(), width=width,
                      height=height, extension=extension, data=data,
                      served={"bytes": len(body), "sha256": sha256, "width": info.width, "height": info.height})
    return Judged(OK, "", result.http_status, sha256=sha256, width=info.width, height=info.height,
                  extension=kind.image_extension, data=body)


def _resized(body: bytes, max_side: int) -> tuple[bytes, int, int, str]:
    """Downscaled so the longer side is `max_side`, re-encoded in the format served (GIF as PNG)."""
    with Image.open(io.BytesIO(body)) as image:
        fmt = image.format if image.format in _SAVE_OPTIONS else "PNG"
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **_SAVE_OPTIONS[fmt])
        return buffer.getvalue(), image.width, image.height, _EXTENSIONS[fmt]
