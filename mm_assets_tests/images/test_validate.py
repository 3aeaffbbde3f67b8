"""What counts as a whole, sane image: real files from Pillow, and each way they go wrong."""

import contextlib
import io

import pytest
from PIL import Image

from mm_assets.images.validate import InvalidImage, inspect_image


def _pillow_decodes(data: bytes) -> bool:
    """The reference verdict: Pillow's own full-scale `load()` of the (first) frame."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        return True
    except Exception:
        return False


def _encoded(fmt: str, size=(64, 48), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt,mode", [("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "P"), ("WEBP", "RGB"), ("GIF", "P")])
def test_real_images_pass_with_format_and_size(fmt, mode):
    info = inspect_image(_encoded(fmt, mode=mode), min_side=32)
    assert (info.format, info.width, info.height) == (fmt, 64, 48)


@pytest.mark.parametrize("data,reason", [
    (b"", "not_an_image"),
    (b"<!DOCTYPE html><html>gone</html>", "not_an_image"),
    (_encoded("JPEG")[:300], "truncated"),  # cut in the headers
    (_encoded("JPEG", size=(256, 256))[:-2000], "truncated"),  # cut in the pixel data
    (_encoded("PNG", size=(20, 400)), "too_small"),
])
def test_each_way_an_image_fails_has_its_reason(data, reason):
    with pytest.raises(InvalidImage) as err:
        inspect_image(data, min_side=32)
    assert err.value.reason == reason


def test_pixel_cap_is_checked_before_decoding():
    with pytest.raises(InvalidImage) as err:
        inspect_image(_encoded("PNG", size=(400, 400)), max_pixels=100_000)
    assert err.value.reason == "too_many_pixels"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
def test_whatever_a_damaged_file_makes_pillow_raise_is_a_reason(fmt):
    """Damaged headers can trip any error inside a format's parser: each must come out as one of
    the reasons, never as an exception that would stop a crawl."""
    import random
    import warnings

    base = _encoded(fmt, size=(64, 64))
    rng = random.Random(0)
    reasons = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about some damaged TIFF tags
        for _ in range(150):
            damaged = bytearray(base)
            for _ in range(rng.randint(1, 8)):
                damaged[rng.randrange(0, min(200, len(damaged)))] = rng.randrange(256)
            try:
                inspect_image(bytes(damaged), min_side=1)
            except InvalidImage as exc:
                reasons.add(exc.reason)
    assert reasons and reasons <= {"not_an_image", "truncated", "too_small", "too_many_pixels", "undecodable"}


@pytest.mark.parametrize("side", [10_000, 60_000])  # over Pillow's cap (it warns), over twice it (it refuses)
def test_decompression_bombs_are_refused_by_their_header(side):
    from mm_assets.samples.cc3m.sample import decompression_bomb

    with pytest.warns(Image.DecompressionBombWarning) if side == 10_000 else contextlib.nullcontext():
        with pytest.raises(InvalidImage) as err:
            inspect_image(decompression_bomb(side))
    assert err.value.reason == "too_many_pixels"


def test_jpeg_verdicts_at_reduced_scale_equal_full_scale_decoding():
    """JPEGs are judged at 1/8 scale: on damaged baseline and progressive files (cut, bytes
    changed, garbage inserted) the verdict must be what a full-scale `load()` gives."""
    import random

    import numpy as np

    from mm_assets.samples.synthetic_images import photo_jpeg

    rng, pick = np.random.default_rng(0), random.Random(0)
    originals = [photo_jpeg(rng, pick.randint(120, 300), pick.randint(120, 300)) for _ in range(6)]
    for data in originals[:3]:
        buffer = io.BytesIO()
        Image.open(io.BytesIO(data)).save(buffer, "JPEG", progressive=True, quality=85)
        originals.append(buffer.getvalue())
    checked = 0
    for data in originals:
        variants = [data, data[: len(data) // 2], data[:-10]]
        for _ in range(15):
            damaged = bytearray(data)
            for _ in range(pick.randint(1, 12)):
                damaged[pick.randint(600, len(data) - 3)] = pick.randrange(256)
            variants.append(bytes(damaged))
        for variant in variants:
            try:
                inspect_image(variant)
                ours = True
            except InvalidImage:
                ours = False
            assert ours == _pillow_decodes(variant)
            checked += 1
    assert checked == 9 * 18
    info = inspect_image(originals[0])
    assert (info.width, info.height, info.mode) == Image.open(io.BytesIO(originals[0])).size + ("RGB",)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_an_animation_cut_after_its_first_frame_is_refused(fmt):
    frames = [Image.effect_noise((120, 90), 60 + 10 * n).convert("P" if fmt == "GIF" else "RGB") for n in range(5)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = buffer.getvalue()
    assert inspect_image(data).format == fmt
    for fraction in (0.5, 0.9):
        with pytest.raises(InvalidImage) as refused:
            inspect_image(data[: int(len(data) * fraction)])
        assert refused.value.reason in ("truncated", "undecodable", "not_an_image")


def test_still_webp_verdicts_of_the_plain_decoder_equal_pillows_full_decoding():
    """A still WebP is judged by libwebp's plain decoder, not Pillow's animation decoder: on damaged
    lossy, lossless and alpha files (cut, bytes changed) the verdict must be what Pillow's `load()`
    gives, and a cut file is refused (libwebp's demuxer, under Pillow's `open`, already refuses
    most cuts as not a WebP)."""
    import random

    import numpy as np

    from mm_assets.images.libwebp import plain_webp_decoder
    from mm_assets.samples.synthetic_images import photo_jpeg

    assert plain_webp_decoder() is not None  # the wheel bundles libwebp: this test must exercise it

    rng, pick = np.random.default_rng(1), random.Random(1)
    originals = []
    for options, mode in (({"quality": 85}, "RGB"), ({"lossless": True}, "RGB"), ({"quality": 80}, "RGBA")):
        photo = Image.open(io.BytesIO(photo_jpeg(rng, pick.randint(120, 300), pick.randint(120, 300))))
        if mode == "RGBA":
            photo.putalpha(Image.linear_gradient("L").resize(photo.size))
        buffer = io.BytesIO()
        photo.save(buffer, "WEBP", **options)
        originals.append(buffer.getvalue())
    decisions = {True: 0, False: 0}
    for data in originals:
        for cut in (data[: len(data) // 2], data[:-10]):
            with pytest.raises(InvalidImage) as refused:
                inspect_image(cut)
            assert refused.value.reason in ("truncated", "not_an_image")
        for _ in range(20):
            damaged = bytearray(data)
            for _ in range(pick.randint(1, 12)):
                damaged[pick.randint(40, len(data) - 3)] = pick.randrange(256)
            try:
                inspect_image(bytes(damaged))
                ours = True
            except InvalidImage:
                ours = False
            assert ours == _pillow_decodes(bytes(damaged))
            decisions[ours] += 1
    assert decisions[True] and decisions[False]  # both verdicts were exercised
    info = inspect_image(originals[2])
    assert (info.format, info.mode) == ("WEBP", "RGBA")
