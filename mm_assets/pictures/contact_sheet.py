"""The pair contact sheet: sampled image-text pairs of each source, each drawn as its image (with
the crop boxes), the training augmentation at three crop scales, and the caption as its tokens
decode, `</s>` and any cut at 64 tokens written out.

Why three scales: the image-text scale (0.6, 1.0) keeps most of the image, so a region caption
still describes what the crop shows; the image-only scale (0.08, 1.0) can cut it away. The panels
are the loaders' own augmentation (`images.transforms.seed_transform`, applied by
`loaders.decode.decode_and_transform`, the function the torch loaders call), only the area scale
changed, and the three use the same seed: the loader's per-item generator (seed, epoch 0, row),
so the (0.6, 1.0) panel of a manifest row is exactly what `ImageTextPairs(seed=seed)[row]` gives.
"""

from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from PIL import Image, ImageDraw

from mm_assets.datasets.pairs.table import SOURCES
from mm_assets.formats.webdataset import read_image, split_image_ref
from mm_assets.images.transforms import IMAGE_ONLY_SCALE, IMAGE_TEXT_SCALE, SeedTransform, seed_transform
from mm_assets.loaders.common import item_generator
from mm_assets.loaders.decode import decode_and_transform
from mm_assets.text.captions import MAX_BPE_TOKENS, MAX_CAPTION_TOKENS, CaptionEncoder
from mm_assets.text.decode import TokenDecoder

from .png import font, image_png

CROP_SCALES = (IMAGE_ONLY_SCALE, IMAGE_TEXT_SCALE, (0.9, 1.0))
SCALE_NAMES = {IMAGE_ONLY_SCALE: "image-only", IMAGE_TEXT_SCALE: "image-text (the loaders')"}
BOX_COLOURS = ((230, 60, 40), (40, 160, 60), (40, 90, 220))  # one per crop scale
PANEL = 160  # pixels per image panel on the sheet (the crops are 224 and drawn at this size)
CAPTION_WIDTH = 430
GAP = 8
SHEET_BUDGET = 600_000  # the sheet is quantized, then shrunk, to stay under this
CUT_MARK = "[CUT at {limit} tokens: {full} in full; lost: \"{lost}\"]"


def crop_transforms() -> list[SeedTransform]:
    """The loaders' image-text training transform with the area scale set to each of `CROP_SCALES`."""
    base = seed_transform("train", image_text=True)
    return [dataclasses.replace(base, scale=scale) for scale in CROP_SCALES]


@dataclass(frozen=True)
class PairExample:
    source: str
    table: str  # the pairs table the row was read from (relative to the data root)
    row: int  # its row in that table: the seed of its augmentation
    image_id: int
    image: str  # as the table names it: a path under the data root, or <shard>.tar#<key>
    caption: str
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class CaptionText:
    text: str  # what the sheet draws
    cut: bool
    full_tokens: int  # <s> + every BPE token of the caption + </s>, before the limit


def caption_text(example: PairExample, decoder: TokenDecoder, encoder: CaptionEncoder) -> CaptionText:
    """The caption as its tokens decode (`<s>` ... `</s>`), and, when the limit cut it, a mark
    saying so with the full length and the words lost."""
    decoded = decoder.decode(example.tokens)
    full = int(encoder.bpe_lengths([example.caption])[0]) + 2
    if full - 2 <= MAX_BPE_TOKENS:
        return CaptionText(decoded, False, full)
    kept = decoder.decode(example.tokens[1:-1])
    lost = example.caption[len(kept):] if example.caption.startswith(kept) else example.caption
    lost = lost if len(lost) <= 80 else lost[:77] + "..."
    return CaptionText(f"{decoded} {CUT_MARK.format(limit=MAX_CAPTION_TOKENS, full=full, lost=lost.strip())}",
                       True, full)


def sample_examples(tables: Mapping[str, Path], root: Path, per_source: int, seed: int) -> list[PairExample]:
    """`per_source` rows of each source (source -> the pairs table holding it), chosen by `seed`
    alone; where a source has captions at the token limit, one of them is among its rows, so a
    cut caption is seen."""
    examples = []
    for source, path in tables.items():
        columns = pq.read_table(path, columns=["source", "n_tokens"])
        rows = np.flatnonzero(pc.equal(columns["source"], source).to_numpy(zero_copy_only=False))
        if not rows.size or per_source < 1:
            continue
        rng = np.random.default_rng([seed, SOURCES.index(source)])
        chosen = rng.choice(rows, size=min(per_source, rows.size), replace=False)
        at_limit = rows[columns["n_tokens"].to_numpy(zero_copy_only=False)[rows] >= MAX_CAPTION_TOKENS]
        if at_limit.size and not np.isin(chosen, at_limit).any():
            chosen[-1] = rng.choice(at_limit)
        chosen = np.unique(chosen)
        table = _take_rows(path, chosen, ["image_id", "image", "caption", "tokens"])
        relative = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        for row, record in zip(chosen.tolist(), table.to_pylist()):
            examples.append(PairExample(source, relative, row, record["image_id"], record["image"],
                                        record["caption"], tuple(record["tokens"])))
    return examples


def _take_rows(path: Path, rows: np.ndarray, columns: list[str]):
    """Rows by position (ascending), reading only the row groups that hold them."""
    file = pq.ParquetFile(path)
    sizes = [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)]
    starts = np.cumsum([0, *sizes])
    group_of = np.searchsorted(starts, rows, side="right") - 1
    groups = sorted(set(group_of.tolist()))
    read_start = dict(zip(groups, np.cumsum([0, *(sizes[g] for g in groups)]).tolist()))
    table = file.read_row_groups(groups, columns=columns)
    return table.take([read_start[g] + int(r - starts[g]) for r, g in zip(rows, group_of)])


def image_bytes(root: Path, ref: str) -> bytes:
    """An image as a pairs table names it: a file under `root`, or a member of a webdataset shard."""
    if "#" in ref:
        shard, key = split_image_ref(ref)
        return read_image(root / shard, key)[1]
    return (root / ref).read_bytes()


def to_uint8(pixels: torch.Tensor, transform: SeedTransform) -> np.ndarray:
    """The transform's normalised output back to viewable RGB (h, w, 3) uint8."""
    mean = torch.tensor(transform.mean).view(3, 1, 1)
    std = torch.tensor(transform.std).view(3, 1, 1)
    return (pixels * std + mean).mul(255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


@dataclass(frozen=True)
class Crop:
    pixels: np.ndarray  # (224, 224, 3) uint8: what the model is shown, un-normalised
    box: tuple[int, int, int, int]  # top, left, height, width in the source image
    flip: bool


def crop_panels(data: bytes, seed: int, row: int) -> list[Crop]:
    """The augmentation at each of `CROP_SCALES`, every scale drawn from the same seed."""
    crops = []
    image = Image.open(io.BytesIO(data))
    for transform in crop_transforms():
        plan = transform.plan(*image.size, item_generator(seed, 0, row))
        pixels = decode_and_transform(data, transform, item_generator(seed, 0, row))
        crops.append(Crop(to_uint8(pixels, transform), (plan.top, plan.left, plan.height, plan.width), plan.flip))
    return crops


@dataclass(frozen=True)
class SheetRow:
    example: PairExample
    caption: CaptionText
    image: Image.Image
    crops: list[Crop]


def build_rows(examples: Sequence[PairExample], root: Path, decoder: TokenDecoder, encoder: CaptionEncoder,
               seed: int) -> list[SheetRow]:
    rows = []
    for example in examples:
        data = image_bytes(root, example.image)
        image = Image.open(io.BytesIO(data)).convert("RGB")
        rows.append(SheetRow(example, caption_text(example, decoder, encoder), image,
                             crop_panels(data, seed, example.row)))
    return rows


def _wrap(draw: ImageDraw.ImageDraw, text: str, typeface, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if draw.textlength(candidate, font=typeface) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while draw.textlength(word, font=typeface) > width:  # a word longer than the column
            cut = max(1, next((i for i in range(len(word), 0, -1)
                               if draw.textlength(word[:i], font=typeface) <= width), 1))
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def render_sheet(rows: Sequence[SheetRow], seed: int) -> Image.Image:
    """One row per example: the image with the crop boxes, the three crops, the caption text."""
    body, small, bold = font(12), font(10), font(12, bold=True)
    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = GAP + 4 * (PANEL + GAP) + CAPTION_WIDTH + GAP
    header = 34
    heights = []
    wrapped = []
    for row in rows:
        lines = _wrap(scratch, row.caption.text, body, CAPTION_WIDTH)
        wrapped.append(lines)
        heights.append(max(PANEL + 14, 34 + 15 * len(lines)) + GAP)
    sheet = Image.new("RGB", (width, header + sum(heights) + GAP), "white")
    draw = ImageDraw.Draw(sheet)
    titles = ["image, crop boxes"] + [f"scale {s} {SCALE_NAMES.get(s, '')}".strip() for s in CROP_SCALES]
    for column, title in enumerate(titles):
        x = GAP + column * (PANEL + GAP)
        for i, line in enumerate(_wrap(scratch, title, small, PANEL)):
            draw.text((x, 4 + 12 * i), line, fill="black", font=small)
    draw.text((GAP + 4 * (PANEL + GAP), 4), f"caption as the tokens decode (seed {seed}, epoch 0)",
              fill="black", font=small)
    y = header
    for row, lines, height in zip(rows, wrapped, heights):
        draw.line([(0, y - GAP // 2), (width, y - GAP // 2)], fill=(200, 200, 200))
        fit = PANEL / max(row.image.size)  # up or down: small images are shown at the panel's size too
        thumbnail = row.image.resize((max(1, round(row.image.width * fit)), max(1, round(row.image.height * fit))),
                                     Image.Resampling.BICUBIC)
        sx, sy = thumbnail.width / row.image.width, thumbnail.height / row.image.height
        sheet.paste(thumbnail, (GAP, y))
        for crop, colour in zip(row.crops, BOX_COLOURS):
            top, left, h, w = crop.box
            draw.rectangle([GAP + left * sx, y + top * sy, GAP + (left + w) * sx - 1, y + (top + h) * sy - 1],
                           outline=colour, width=2)
        for column, (crop, colour) in enumerate(zip(row.crops, BOX_COLOURS), start=1):
            x = GAP + column * (PANEL + GAP)
            panel = Image.fromarray(crop.pixels).resize((PANEL, PANEL), Image.Resampling.BICUBIC)
            sheet.paste(panel, (x, y))
            draw.rectangle([x, y, x + PANEL - 1, y + PANEL - 1], outline=colour, width=2)
            if crop.flip:
                draw.text((x + 3, y + PANEL + 1), "flipped", fill="black", font=small)
        x = GAP + 4 * (PANEL + GAP)
        example = row.example
        draw.text((x, y), f"{example.source} · image {example.image_id} · {len(example.tokens)} tokens",
                  fill="black", font=bold)
        draw.text((x, y + 16), f"{example.table}, row {example.row}", fill=(90, 90, 90), font=small)
        for i, line in enumerate(lines):
            draw.text((x, y + 32 + 15 * i), line, fill=(170, 20, 20) if row.caption.cut and "[CUT" in line
                      else "black", font=body)
        y += height
    return sheet


def sheet_png(sheet: Image.Image, budget: int = SHEET_BUDGET) -> bytes:
    """PNG bytes under `budget`: as is if it fits, else quantized to 256 colours (median cut, no
    dither: deterministic), shrunk by 4/5 steps until it fits."""
    png = image_png(sheet)
    while len(png) > budget:
        png = image_png(sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
        sheet = sheet.resize((sheet.width * 4 // 5, sheet.height * 4 // 5), Image.Resampling.BICUBIC)
    return png


def examples_json(rows: Sequence[SheetRow], seed: int) -> bytes:
    """What the sheet shows, as data: each pair's source, table row, image, caption and text drawn."""
    return json.dumps({"seed": seed, "crop_scales": [list(s) for s in CROP_SCALES], "examples": [
        {**dataclasses.asdict(row.example), "tokens": list(row.example.tokens), "text_drawn": row.caption.text,
         "cut": row.caption.cut, "full_tokens": row.caption.full_tokens,
         "crop_boxes": [{"scale": list(s), "top_left_height_width": list(c.box), "flip": c.flip}
                        for s, c in zip(CROP_SCALES, row.crops)]}
        for row in rows]}, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"
