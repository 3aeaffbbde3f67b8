"""A still WebP decoded by libwebp's plain decoder, for validation only.

Pillow opens every WebP through libwebp's animation decoder (`WebPAnimDecoder`), which decodes a
still image too but then composites it onto an RGBA canvas and hands it to Pillow as raw pixels:
about 1.6x the CPU of decoding it (6.8 ms against 4.2 ms for a 500x375 photo here). A crawl only
needs to know that every byte of the image decodes, so a still WebP goes to `WebPDecode` into
YUVA (the codec's own planes, alpha included, no colour conversion), without the deblocking
filter (it changes pixels, not what is read), and the pixels are dropped.

The library is the one Pillow's wheel bundles (`pillow.libs/libwebp-*.so`), else the system's;
its decoder ABI is checked by libwebp itself (`WebPInitDecoderConfigInternal` refuses another
major version). Where neither loads, `plain_webp_decoder()` is None and callers decode through
Pillow as before: slower, the same verdict.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from ctypes import POINTER, Structure, Union, byref, c_int, c_size_t, c_uint32, c_void_p
from pathlib import Path

_DECODER_ABI_VERSION = 0x0209  # WEBP_DECODER_ABI_VERSION of libwebp 1.x (decode.h)
_MODE_YUVA = 12  # WEBP_CSP_MODE: Y, U, V and alpha planes
_STATUS = {1: "out of memory", 2: "invalid parameter", 3: "bitstream error", 4: "unsupported feature",
           5: "suspended", 6: "user abort", 7: "not enough data (truncated)"}


class _Features(Structure):
    _fields_ = [("width", c_int), ("height", c_int), ("has_alpha", c_int), ("has_animation", c_int),
                ("format", c_int), ("pad", c_uint32 * 5)]


class _RGBABuffer(Structure):
    _fields_ = [("rgba", c_void_p), ("stride", c_int), ("size", c_size_t)]


class _YUVABuffer(Structure):
    _fields_ = [("y", c_void_p), ("u", c_void_p), ("v", c_void_p), ("a", c_void_p),
                ("y_stride", c_int), ("u_stride", c_int), ("v_stride", c_int), ("a_stride", c_int),
                ("y_size", c_size_t), ("u_size", c_size_t), ("v_size", c_size_t), ("a_size", c_size_t)]


class _Buffers(Union):
    _fields_ = [("RGBA", _RGBABuffer), ("YUVA", _YUVABuffer)]


class _DecBuffer(Structure):
    _fields_ = [("colorspace", c_int), ("width", c_int), ("height", c_int), ("is_external_memory", c_int),
                ("u", _Buffers), ("pad", c_uint32 * 4), ("private_memory", c_void_p)]


class _Options(Structure):
    _fields_ = [(name, c_int) for name in (
        "bypass_filtering", "no_fancy_upsampling", "use_cropping", "crop_left", "crop_top", "crop_width",
        "crop_height", "use_scaling", "scaled_width", "scaled_height", "use_threads", "dithering_strength",
        "flip", "alpha_dithering_strength")] + [("pad", c_uint32 * 5)]


class _DecoderConfig(Structure):
    _fields_ = [("input", _Features), ("output", _DecBuffer), ("options", _Options)]


class PlainWebPDecoder:
    """libwebp's `WebPDecode`, bound through ctypes (which releases the GIL for the call)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._init = lib.WebPInitDecoderConfigInternal
        self._init.argtypes, self._init.restype = [POINTER(_DecoderConfig), c_int], c_int
        self._decode = lib.WebPDecode
        self._decode.argtypes, self._decode.restype = [ctypes.c_char_p, c_size_t, POINTER(_DecoderConfig)], c_int
        self._free = lib.WebPFreeDecBuffer
        self._free.argtypes, self._free.restype = [POINTER(_DecBuffer)], None
        if not self._init(byref(_DecoderConfig()), _DECODER_ABI_VERSION):
            raise OSError("libwebp's decoder ABI is not 2.x")

    def decode(self, data: bytes) -> str | None:
        """Decode every byte of a still WebP; None when it decodes, else libwebp's reason."""
        config = _DecoderConfig()
        if not self._init(byref(config), _DECODER_ABI_VERSION):
            return "libwebp refused its decoder configuration"
        config.output.colorspace = _MODE_YUVA
        # The in-loop deblocking filter only smooths decoded pixels; every byte of the bitstream
        # is parsed and entropy-decoded without it (12 % less CPU on the benchmark's WebPs).
        config.options.bypass_filtering = 1
        status = self._decode(data, len(data), byref(config))
        self._free(byref(config.output))
        return None if status == 0 else _STATUS.get(status, f"libwebp status {status}")


def _candidates() -> list[str]:
    import PIL

    bundled = sorted(str(path) for path in (Path(PIL.__file__).parent.parent / "pillow.libs").glob("libwebp-*.so*"))
    system = ctypes.util.find_library("webp")
    return bundled + ([system] if system else [])


@functools.cache
def plain_webp_decoder() -> PlainWebPDecoder | None:
    """The decoder, or None where no usable libwebp loads (then Pillow decodes, as before)."""
    for candidate in _candidates():
        try:
            return PlainWebPDecoder(ctypes.CDLL(candidate))
        except (OSError, AttributeError):
            continue
    return None
