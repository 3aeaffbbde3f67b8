"""Charts of the data, drawn with matplotlib (Agg): link rot over the dated snapshots, token
lengths (OWT sequences, captions per source), ImageNet images per class. Each takes plain numbers
and returns PNG bytes (`png.figure_png`: the same bytes for the same numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Sequence

import numpy as np

from .png import chart, figure_png

OK_CLASS = "ok"
FAILURE_COLOURS = ("tab:red", "tab:orange", "tab:blue", "tab:purple", "tab:brown", "tab:pink", "tab:gray",
                   "tab:olive", "tab:cyan")  # green is kept for ok
CLASS_ORDER_HINT = ("ok", "http_error", "timeout", "dns_failure", "connection_error", "not_an_image",
                    "placeholder")


@dataclass(frozen=True)
class ClassShares:
    """One point of a link-rot chart: when, how many URLs were checked, and how many fell in each class."""

    when: datetime
    counts: Mapping[str, int]
    label: str = ""  # e.g. "3 shards"

    @property
    def checked(self) -> int:
        return int(sum(self.counts.values()))


def _classes(points: Sequence[ClassShares]) -> list[str]:
    seen = {name for point in points for name, count in point.counts.items() if count}
    return ([c for c in CLASS_ORDER_HINT if c in seen] + sorted(seen - set(CLASS_ORDER_HINT))) or [OK_CLASS]


def link_rot_png(points: Sequence[ClassShares], title: str, marks: Mapping[str, datetime] | None = None) -> bytes:
    """The share of each class (ok, http_error, timeout, ...) at each snapshot, time on the x axis;
    `marks` (label -> time) are drawn as vertical lines, e.g. when the subset was written."""
    points = sorted(points, key=lambda point: point.when)
    with chart(8, 3.6) as (figure, axes):
        if not points:
            axes.text(0.5, 0.5, "no snapshots yet", ha="center", va="center", transform=axes.transAxes)
        times = [point.when for point in points]
        others = iter(FAILURE_COLOURS * 3)
        for name in _classes(points) if points else []:
            shares = [100 * point.counts.get(name, 0) / point.checked if point.checked else 0 for point in points]
            axes.plot(times, shares, marker="o", linewidth=2.5 if name == OK_CLASS else 1.2, label=name,
                      color="tab:green" if name == OK_CLASS else next(others))
        for point in points:
            if point.label:
                axes.annotate(point.label, (point.when, 100), fontsize=7, ha="center", va="bottom",
                              textcoords="offset points", xytext=(0, 2))
        for label, when in sorted((marks or {}).items(), key=lambda item: item[1]):
            axes.axvline(when, color="0.3", linestyle=":", linewidth=1.2)
            axes.annotate(label, (when, 50), rotation=90, fontsize=7, ha="right", va="center",
                          textcoords="offset points", xytext=(-2, 0))
        axes.set_ylim(0, 108)
        axes.set_ylabel("share of URLs checked (%)")
        axes.set_xlabel("snapshot (UTC)")
        axes.set_title(title)
        if points:
            axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
            span = [*times, *(marks or {}).values()]
            if min(span) == max(span):  # one date: pad the axis so the point is not on its edge
                axes.set_xlim(span[0] - timedelta(days=1), span[0] + timedelta(days=1))
        figure.autofmt_xdate()
        figure.tight_layout()
        return figure_png(figure)


def owt_lengths_png(sizes: Mapping[str, np.ndarray]) -> bytes:
    """Tokens per sequence (one cleaned line + `</s>`) per split, log-spaced bins, counts on a log axis."""
    with chart(8, 3.6) as (figure, axes):
        longest = max((int(s.max()) for s in sizes.values() if len(s)), default=1)
        edges = np.unique(np.round(np.geomspace(1, max(2, longest + 1), 60)).astype(np.int64))
        for split, values in sizes.items():
            if not len(values):
                continue
            counts, _ = np.histogram(values, bins=edges)
            axes.stairs(counts, edges, linewidth=1.5,
                        label=f"{split}: {len(values):,} sequences, mean {float(np.mean(values)):.1f}, "
                              f"max {int(np.max(values)):,}")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("tokens per sequence (with </s>)")
        axes.set_ylabel("sequences")
        axes.set_title("OpenWebText: sequence lengths per split")
        if sizes and any(len(v) for v in sizes.values()):
            axes.legend(fontsize=8)
        figure.tight_layout()
        return figure_png(figure)


def caption_lengths_png(histograms: Mapping[str, np.ndarray], cut: Mapping[str, int], limit: int) -> bytes:
    """Tokens per caption (with `<s>`, `</s>`), one panel per source, the limit marked and the
    captions it cut counted in each panel's title."""
    sources = list(histograms) or ["none"]
    with chart(8, 1.0 + 1.7 * len(sources), nrows=len(sources), sharex=True, squeeze=False) as (figure, axes):
        for row, source in enumerate(sources):
            ax = axes[row][0]
            histogram = np.asarray(histograms.get(source, np.zeros(limit + 1, np.int64)))
            lengths = np.arange(len(histogram))
            ax.bar(lengths, histogram, width=1.0, color="tab:blue")
            ax.axvline(limit + 0.5, color="tab:red", linestyle="--", linewidth=1.2)
            ax.text(limit + 0.3, 0.95, f"{limit}-token limit", color="tab:red", fontsize=8, ha="right",
                    va="top", transform=ax.get_xaxis_transform())
            total = int(histogram.sum())
            ax.set_title(f"{source}: {total:,} captions, {int(cut.get(source, 0)):,} cut at the limit",
                         fontsize=9, loc="left")
            ax.set_ylabel("captions")
        axes[-1][0].set_xlabel("tokens per caption (with <s> and </s>)")
        axes[-1][0].set_xlim(0, limit + 2)
        figure.tight_layout()
        return figure_png(figure)


def images_per_class_png(counts: Mapping[str, np.ndarray], synsets: Sequence[str], furthest: int = 5) -> bytes:
    """Images per class, classes sorted by count, per split: min, max, mean, and the `furthest`
    classes furthest from the mean named."""
    splits = list(counts) or ["none"]
    with chart(8, 0.6 + 2.4 * len(splits), nrows=len(splits), squeeze=False) as (figure, axes):
        for row, split in enumerate(splits):
            ax = axes[row][0]
            values = np.asarray(counts.get(split, np.zeros(len(synsets), np.int64)))
            order = np.argsort(-values, kind="stable")
            ax.fill_between(np.arange(len(values)), values[order], step="mid", alpha=0.6, color="tab:blue")
            mean = float(values.mean()) if len(values) else 0.0
            ax.axhline(mean, color="tab:orange", linestyle="--", linewidth=1, label=f"mean {mean:,.1f}")
            far = np.argsort(-np.abs(values - mean), kind="stable")[:furthest]
            named = "\n".join(f"{synsets[i]}: {int(values[i]):,}" for i in far)
            ax.text(0.99, 0.95, f"furthest from the mean\n{named}", transform=ax.transAxes, fontsize=7,
                    ha="right", va="top", bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"})
            low, high = (int(values.min()), int(values.max())) if len(values) else (0, 0)
            ax.set_title(f"{split}: {int(values.sum()):,} images in {len(values):,} classes; min {low:,} "
                         f"({synsets[order[-1]] if len(values) else '-'}), max {high:,} "
                         f"({synsets[order[0]] if len(values) else '-'})", fontsize=9, loc="left")
            ax.set_ylabel("images")
            ax.set_xlim(-0.5, max(len(values) - 0.5, 0.5))
            ax.legend(loc="lower left", fontsize=8)
        axes[-1][0].set_xlabel("classes, most images first")
        figure.tight_layout()
        return figure_png(figure)
