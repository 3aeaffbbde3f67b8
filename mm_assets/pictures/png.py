"""Deterministic PNG bytes from a Pillow image or a matplotlib figure, and their Markdown embedding."""

from __future__ import annotations

import base64
import io
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from PIL import Image, ImageFont

from mm_assets.common.atomic import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_PNG_BYTES = 1_000_000  # a picture in the UI's metadata must stay well under this
DPI = 100
# Fixed for every chart: the font bundled with matplotlib (no system font lookup), sizes, no hash salt.
CHART_STYLE = {
    "font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 10, "figure.dpi": DPI,
    "savefig.dpi": DPI, "svg.hashsalt": "mm_assets", "axes.grid": True, "grid.alpha": 0.3,
}


@lru_cache(maxsize=1)
def pyplot():
    """matplotlib's pyplot on the Agg backend, imported on first use: loading the definitions (every
    step, the code server) must not pay for matplotlib."""
    import matplotlib

    matplotlib.use("Agg")  # no display; the same pixels on every machine with the same versions
    import matplotlib.pyplot as plt

    return plt


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans from matplotlib's own files, so the sheet's text does not depend on the system."""
    import matplotlib

    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return ImageFont.truetype(str(font_dir / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def image_png(image: Image.Image) -> bytes:
    """PNG bytes of a Pillow image, with no text chunks (Pillow writes no time or software)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@contextmanager
def chart(width_in: float, height_in: float, **subplots) -> Iterator[tuple[Figure, object]]:
    """A figure of a fixed size in the fixed style; closed afterwards (no pyplot state kept)."""
    plt = pyplot()
    with plt.rc_context(CHART_STYLE):
        figure, axes = plt.subplots(figsize=(width_in, height_in), **subplots)
        try:
            yield figure, axes
        finally:
            plt.close(figure)


def figure_png(figure: Figure) -> bytes:
    """PNG bytes of a figure: no `Software` text (matplotlib writes its version there by default)."""
    buffer = io.BytesIO()
    with pyplot().rc_context(CHART_STYLE):
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown that draws `png` inline (a data URI): the Dagster UI shows it on the asset's page."""
    if len(png) > MAX_PNG_BYTES:
        raise ValueError(f"the picture '{alt}' is {len(png):,} bytes; pictures in metadata must stay under "
                         f"{MAX_PNG_BYTES:,} (draw it smaller)")
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def write_png(path: str | os.PathLike, png: bytes) -> Path:
    """Write atomically (temp + rename), so a reader never sees half a picture."""
    with atomic_write(path) as handle:
        handle.write(png)
    return Path(path)
