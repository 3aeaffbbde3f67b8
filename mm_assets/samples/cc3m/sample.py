"""A CC3M-like sample: an index (caption TAB URL path) and the images a server serves for it.

Images are real JPEG, PNG and WebP files made by Pillow from noise and gradients, at CC3M-like
dimensions; about `failure_share` of the rows fail the way real CC3M links fail: 404 and 410,
server errors, HTML error pages (some announced as images), timeouts, bodies cut short (short of
their Content-Length, in a broken chunked encoding, or a file cut short on the server), placeholder
redirects and placeholders served directly under many URLs, images too small, decompression
bombs, refusals by X-Robots-Tag, redirect chains (some too long), dead hosts, bad URLs. Each
row's path tells `sample_server` how to answer it (`/<behaviour>/<name>`).
Everything is drawn from one seed: the same arguments give the same files.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# behaviour -> share of the failing rows (real CC3M: mostly 404s and dead hosts)
FAILURES = {
    "missing": 0.30, "gone": 0.05, "error": 0.05, "html": 0.08, "html-as-image": 0.04, "slow": 0.03,
    "truncated": 0.04, "cut": 0.03, "partial-file": 0.03, "to-placeholder": 0.08, "placeholder": 0.07, "tiny": 0.04,
    "noai": 0.03, "redirect-loop": 0.02, "dead-host": 0.08, "bad-url": 0.03, "bomb": 0.01,
}
# behaviour -> share of the working rows: plain, a redirect or two, HEAD refused
WORKING = {"img": 0.85, "redirect": 0.10, "no-head": 0.05}
FORMATS = (("JPEG", "jpg", 0.75), ("PNG", "png", 0.12), ("WEBP", "webp", 0.13))
_SUBJECTS = ["actor", "a dog", "the city skyline", "person", "a cup of coffee", "tourists", "an old car",
             "the beach", "a wooden table", "football player", "christmas tree", "the mountains",
             "a bride", "illustration of a cat", "the kitchen", "fashion model", "a red rose"]
_ACTIONS = ["attends the premiere of", "walking along", "in front of", "sitting on", "looking at",
            "with a view of", "celebrates during", "standing next to", "on display at", "covered in"]
_OBJECTS = ["the film", "the river", "a white background", "the stadium", "a sunny day", "the old town",
            "snow", "the market", "the event", "the garden", "a vintage poster", "the night sky"]


@dataclass(frozen=True)
class SampleRow:
    caption: str
    path: str  # /<behaviour>/<name>, or a complete URL for bad URLs


@dataclass
class Sample:
    rows: list[SampleRow]
    images: dict[str, bytes]  # name -> bytes, served under /img/<name> and the other behaviours
    placeholder: bytes  # the bytes served at /static/photo_unavailable.png and /placeholder/...


def caption(rng: random.Random) -> str:
    text = f"{rng.choice(_SUBJECTS)} {rng.choice(_ACTIONS)} {rng.choice(_OBJECTS)}"
    if rng.random() < 0.1:
        text = f'{text} "{rng.choice(_OBJECTS)}"'  # quotes: the index is read with quoting off
    if rng.random() < 0.05:
        text = text + " " * rng.randint(1, 3)  # trailing spaces are kept in the index
    return text


def make_image(rng: random.Random, fmt: str, size: tuple[int, int], *, noise: float) -> bytes:
    """A gradient with shapes and noise: compresses like a photo, not like a flat colour."""
    width, height = size
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    image = Image.blend(base, tint, 0.5)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 12)):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(5, max(6, min(width, height) // 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    if noise:
        pixels = np.random.default_rng(rng.getrandbits(64)).normal(128, 64, (height, width, 3))
        grain = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
        image = Image.blend(image, grain, noise)
    buffer = io.BytesIO()
    options = {"JPEG": {"quality": rng.choice([80, 85, 90, 95])}, "WEBP": {"quality": 85}, "PNG": {}}[fmt]
    if fmt == "PNG" and rng.random() < 0.5:
        image = image.convert("RGBA")  # some PNGs carry alpha
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def decompression_bomb(side: int = 60_000) -> bytes:
    """A small PNG that claims `side` x `side` pixels (a decompression bomb: 3.6 G pixels by default)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\0" * (1 + side // 8) * 64)  # the first rows of a 1-bit image; the rest missing
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def placeholder_image() -> bytes:
    """A grey "photo unavailable" card, as hosts serve in place of a removed photo."""
    image = Image.new("RGB", (500, 374), (230, 230, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((150, 120, 350, 250), outline=(160, 160, 160), width=6)
    draw.text((175, 270), "This photo is no longer available", fill=(120, 120, 120))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _dimensions(rng: random.Random, realistic: bool) -> tuple[int, int]:
    if not realistic:
        return rng.randint(48, 160), rng.randint(48, 160)
    long_side = rng.choice([500, 640, 800, 1000, 1024])
    short_side = int(long_side * rng.uniform(0.56, 0.9))
    return (long_side, short_side) if rng.random() < 0.7 else (short_side, long_side)


def generate_sample(rows: int, *, seed: int = 0, failure_share: float = 0.3, realistic: bool = False,
                    distinct_images: int | None = None) -> Sample:
    """`rows` index rows and their images. `realistic`: CC3M dimensions and 50-300 KB files;
    otherwise small images for tests and the demo. `distinct_images` caps how many different
    images are made (the rest reuse them); by default every working row has its own."""
    rng = random.Random(seed)
    images: dict[str, bytes] = {}
    names: list[str] = []
    sample_rows: list[SampleRow] = []
    budget = distinct_images or rows
    for row_id in range(rows):
        text = caption(rng)
        if rng.random() < failure_share:
            behaviour = _pick(rng, FAILURES)
            sample_rows.append(SampleRow(text, _failing_path(rng, behaviour, row_id, names, images, realistic)))
            continue
        behaviour = _pick(rng, WORKING)
        name = _image_for(rng, names, images, budget, realistic, row_id)
        hops = rng.randint(1, 2) if behaviour == "redirect" else 0
        sample_rows.append(SampleRow(text, f"/redirect/{hops}/{name}" if hops else f"/{behaviour}/{name}"))
    return Sample(sample_rows, images, placeholder_image())


def _image_for(rng, names, images, budget, realistic, row_id) -> str:
    if len(names) >= budget:
        return rng.choice(names)
    fmt, extension = rng.choices([(f, e) for f, e, _ in FORMATS], weights=[w for *_, w in FORMATS])[0]
    name = f"{row_id:07d}.{extension}"
    # Photos (JPEG, WebP) carry grain; PNGs are mostly graphics, nearly flat, or they would be huge.
    noise = rng.uniform(0.0, 0.03) if fmt == "PNG" else rng.uniform(0.05, 0.3)
    size = _dimensions(rng, realistic)
    if fmt == "PNG" and realistic:
        size = (size[0] // 2, size[1] // 2)
    images[name] = make_image(rng, fmt, size, noise=noise)
    names.append(name)
    return name


def _failing_path(rng, behaviour, row_id, names, images, realistic) -> str:
    if behaviour in ("truncated", "cut", "partial-file", "html-as-image", "slow", "noai"):
        name = f"{row_id:07d}.jpg"
        images[name] = make_image(rng, "JPEG", _dimensions(rng, realistic), noise=0.3)
        return f"/{behaviour}/{name}"
    if behaviour == "tiny":
        name = f"{row_id:07d}.png"
        images[name] = make_image(rng, "PNG", (rng.randint(8, 24), rng.randint(8, 60)), noise=0.2)
        return f"/tiny/{name}"
    if behaviour == "bomb":
        name = f"{row_id:07d}-bomb.png"  # served as a plain image: only its header gives it away
        images[name] = decompression_bomb()
        return f"/img/{name}"
    if behaviour == "redirect-loop":
        return f"/redirect/6/{row_id:07d}.jpg"
    if behaviour == "bad-url":
        # Loopback or hostless: no tool, however lax, sends a DNS query or a packet off this machine.
        return rng.choice(["ftp://127.0.0.1:9/{n}.jpg", "http:///{n}.jpg", "data:image/png;base64,{n}"]).format(n=row_id)
    return f"/{behaviour}/{row_id:07d}.jpg"


def write_sample(sample: Sample, out: Path) -> tuple[Path, Path]:
    """`<out>/files/<name>` for every image, `<out>/placeholder.png`, and `<out>/paths.tsv`."""
    files = out / "files"
    files.mkdir(parents=True, exist_ok=True)
    for name, data in sample.images.items():
        (files / name).write_bytes(data)
    (out / "placeholder.png").write_bytes(sample.placeholder)
    paths = out / "paths.tsv"
    paths.write_text("".join(f"{row.caption}\t{row.path}\n" for row in sample.rows), encoding="utf-8")
    return files, paths


def index_lines(paths_tsv: Path, base_url: str, dead_base_url: str) -> list[str]:
    """The sample's index as Google's TSV: caption TAB absolute URL, for a server at `base_url`.

    `/dead-host/...` rows point at `dead_base_url`, where nothing listens."""
    lines = []
    for line in paths_tsv.read_text(encoding="utf-8").splitlines():
        text, _, path = line.partition("\t")
        if "://" in path or path.startswith("data:"):
            url = path
        elif path.startswith("/dead-host/"):
            url = dead_base_url.rstrip("/") + path
        else:
            url = base_url.rstrip("/") + path
        lines.append(f"{text}\t{url}")
    return lines
