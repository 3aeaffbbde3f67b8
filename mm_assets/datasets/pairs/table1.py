"""The thesis's Table 1, measured on the pairs that were written, beside the thesis's own figures.

Per source and in total: images (distinct image ids), mean captions per image, mean caption
length in words (runs of non-whitespace in the encoded caption) and pairs; and the distribution
of token lengths (`<s>` and `</s>` included) as rows of a table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .table import SourceStats


@dataclass(frozen=True)
class SeedRow:
    label: str
    images: int
    captions_per_image: float | None
    words_per_caption: float | None
    pairs: int


SEED_TABLE1 = {
    "coco": SeedRow("COCO", 82_783, 5.0, 11.0, 566_747),
    "vg": SeedRow("VG", 108_249, 50.0, 4.7, 5_408_689),
    "cc3m": SeedRow("CC3M subset", 500_000, 1.0, 50.0, 500_000),
    "total": SeedRow("Total", 691_032, None, None, 6_475_436),
}
SEED_ROW_OF = {"coco": "coco", "vg": "vg", "vg_concat": "vg", "cc3m": "cc3m"}
LABELS = {"coco": "COCO", "vg": "VG", "vg_concat": "VG (concat)", "cc3m": "CC3M subset"}


def _number(value: float | int | None, decimals: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.{decimals}f}"


def table1_markdown(stats: dict[str, SourceStats]) -> str:
    """Rows per source (in the given order) and the total; each figure beside the thesis's."""
    lines = ["| dataset | images | seed | captions per image | seed | words per caption | seed | pairs | seed |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for source, row in stats.items():
        seed = SEED_TABLE1[SEED_ROW_OF[source]]
        lines.append(f"| {LABELS.get(source, source)} | {row.images:,} | {_number(seed.images)} "
                     f"| {row.captions_per_image:.1f} | {_number(seed.captions_per_image)} "
                     f"| {row.words_per_caption:.1f} | {_number(seed.words_per_caption)} "
                     f"| {row.pairs:,} | {_number(seed.pairs)} |")
    seed = SEED_TABLE1["total"]
    images = sum(row.images for row in stats.values())
    pairs = sum(row.pairs for row in stats.values())
    lines.append(f"| **total** | {images:,} | {seed.images:,} | - | - | - | - | {pairs:,} | {seed.pairs:,} |")
    return "\n".join(lines)


def histogram_rows(histogram: np.ndarray) -> list[tuple[int, int, float]]:
    """(tokens with `<s>` and `</s>`, pairs, percent of all pairs) per length; empty lengths left out."""
    total = int(histogram.sum())
    return [(int(length), int(histogram[length]), round(100 * int(histogram[length]) / total, 2))
            for length in np.flatnonzero(histogram)]
