"""Reading a pairs table back: its invariants, and samples of its rows and images for the checks.

Everything here reads the table as a stream of row groups, so a check of the 6.5 M-row manifest
needs no more memory than one group.
"""

from __future__ import annotations

import heapq
import os
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.counts import Tally
from mm_assets.common.parallel import ordered_map
from mm_assets.formats.webdataset import member_offsets, split_image_ref
from mm_assets.images.validate import InvalidImage, inspect_image
from mm_assets.text.captions import MAX_CAPTION_TOKENS
from mm_assets.text.gpt2_bpe import BOS, EOS, UNK

from .table import PAIRS_SCHEMA, SOURCES, iter_table_batches

IMAGE_SAMPLE = 1000
ROW_SAMPLE = 256
LONGEST_SAMPLE = 64  # rows at the 64-token limit (truncated captions among them) judged as well


@dataclass
class TableReport:
    rows: int = 0
    per_source: dict[str, int] = field(default_factory=dict)
    problems: Tally = field(default_factory=lambda: Tally(max_examples=3))


def _row_problems(batch: pa.RecordBatch, first_row: int, problems: Tally) -> None:
    tokens = batch.column("tokens")
    lengths = pc.list_value_length(tokens).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = tokens.flatten().to_numpy(zero_copy_only=False)
    starts = np.cumsum(lengths) - lengths
    nonempty = lengths > 0
    first = np.full(lengths.size, -1, np.int64)
    last = np.full(lengths.size, -1, np.int64)
    first[nonempty] = flat[starts[nonempty]]
    last[nonempty] = flat[starts[nonempty] + lengths[nonempty] - 1]
    inner = np.ones(flat.size, dtype=bool)
    inner[starts[nonempty]] = False
    inner[starts[nonempty] + lengths[nonempty] - 1] = False
    special_inside = np.zeros(lengths.size, dtype=bool)
    bad = np.flatnonzero(inner & (flat < UNK))
    if bad.size:
        special_inside[np.searchsorted(starts, bad, side="right") - 1] = True
    n_tokens = batch.column("n_tokens").fill_null(-1).to_numpy(zero_copy_only=False)
    checks = {
        "does_not_start_with_bos": first != BOS,
        "does_not_end_with_eos": last != EOS,
        "more_than_64_tokens": lengths > MAX_CAPTION_TOKENS,
        "fewer_than_3_tokens": lengths < 3,
        "n_tokens_differs_from_tokens": n_tokens != lengths,
        "special_token_inside": special_inside,
        "image_id_missing": batch.column("image_id").is_null().to_numpy(zero_copy_only=False),
    }
    for key, mask in checks.items():
        for index in np.flatnonzero(mask)[:3]:
            problems.add(key, 0, example=f"row {first_row + int(index)}")
        if mask.any():
            problems.add(key, int(np.count_nonzero(mask)))
    for offset, (caption, source, image) in enumerate(zip(batch.column("caption").to_pylist(),
                                                          batch.column("source").to_pylist(),
                                                          batch.column("image").to_pylist())):
        if not caption or caption != caption.strip():
            problems.add("caption_empty_or_not_stripped", example=f"row {first_row + offset}: {caption!r:.60}")
        if source not in SOURCES:
            problems.add("unknown_source", example=f"row {first_row + offset}: {source!r}")
        if not image:
            problems.add("image_missing", example=f"row {first_row + offset}")


def check_pairs_table(path: str | os.PathLike) -> TableReport:
    """Every row: `<s>` first, `</s>` last, 3 to 64 tokens, `n_tokens` right, no special token
    inside, a non-empty stripped caption, a known source, an image. Schema as PAIRS_SCHEMA."""
    report = TableReport()
    schema = pq.read_schema(path)
    if not schema.equals(PAIRS_SCHEMA, check_metadata=False):
        report.problems.add("schema_differs", example=f"{schema} != {PAIRS_SCHEMA}")
        return report
    for batch in iter_table_batches(path):
        _row_problems(batch, report.rows, report.problems)
        for item in pc.value_counts(batch.column("source")).to_pylist():
            report.per_source[item["values"]] = report.per_source.get(item["values"], 0) + item["counts"]
        report.rows += batch.num_rows
    return report


def sample_rows(path: str | os.PathLike, *, count: int = ROW_SAMPLE, longest: int = LONGEST_SAMPLE,
                seed: int = 0) -> list[dict]:
    """`count` rows drawn at random (seeded) plus up to `longest` rows at the 64-token limit:
    each as {row, source, caption, tokens}."""
    n_tokens = pq.read_table(path, columns=["n_tokens"]).column("n_tokens").to_numpy()
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(n_tokens.size, size=min(count, n_tokens.size), replace=False).tolist())
    chosen.update(np.flatnonzero(n_tokens == MAX_CAPTION_TOKENS)[:longest].tolist())
    rows = []
    with pq.ParquetFile(path) as table:
        first = 0
        for group in range(table.num_row_groups):
            size = table.metadata.row_group(group).num_rows
            wanted = sorted(r for r in chosen if first <= r < first + size)
            if wanted:
                part = table.read_row_group(group, columns=["source", "caption", "tokens"])
                picked = part.take(pa.array([r - first for r in wanted]))
                for row, record in zip(wanted, picked.to_pylist()):
                    rows.append({"row": row, **record})
            first += size
    return rows


def sample_images(path: str | os.PathLike, count: int = IMAGE_SAMPLE) -> list[str]:
    """`count` distinct images of the table, the same ones every time: the images whose names
    have the smallest CRC-32 (a uniform sample that does not depend on row order), or all."""
    smallest: list[tuple[int, str]] = []  # a max-heap of (-crc, image) holding the smallest crcs
    seen: set[str] = set()
    for batch in iter_table_batches(path, columns=["image"]):
        for image in pc.unique(batch.column("image")).to_pylist():
            if image in seen:
                continue
            key = zlib.crc32(image.encode("utf-8"))
            if len(smallest) < count:
                heapq.heappush(smallest, (-key, image))
                seen.add(image)
            elif key < -smallest[0][0]:
                _, dropped = heapq.heappushpop(smallest, (-key, image))
                seen.discard(dropped)
                seen.add(image)
    return sorted(image for _, image in smallest)


def _shard_offsets(data_root: Path, refs: list[str]) -> dict[str, dict | str]:
    """For each shard the references name: its members' offsets, or why it cannot be read."""
    offsets: dict[str, dict | str] = {}
    for ref in refs:
        if "#" in ref:
            shard, _ = split_image_ref(ref)
            if shard not in offsets:
                try:
                    offsets[shard] = member_offsets(data_root / shard)
                except (OSError, tarfile.TarError) as exc:
                    offsets[shard] = f"shard {shard} unreadable: {exc}"
    return offsets


def _read_image(data_root: Path, ref: str, shards: dict[str, dict | str]) -> bytes | str:
    """The bytes of one image reference, or why they could not be read ("missing: ...")."""
    if "#" not in ref:
        try:
            return (data_root / ref).read_bytes()
        except OSError as exc:
            return f"missing: {exc.strerror or exc}"
    shard, key = split_image_ref(ref)
    members = shards[shard]
    if isinstance(members, str):
        return f"missing: {members}"
    if key not in members:
        return f"missing: no image {key} in {shard}"
    _, offset, size = members[key]
    with open(data_root / shard, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def check_images(data_root: str | os.PathLike, refs: list[str], *, workers: int = 1) -> Tally:
    """Each image must exist and decode fully; returns `checked` and a count per failure reason.

    Images are read and decoded on `workers` threads, a few at a time (memory does not grow with
    the sample).
    """
    data_root = Path(data_root)
    result = Tally(max_examples=5)
    shards = _shard_offsets(data_root, refs)

    def judge(ref: str) -> tuple[str, str | None]:
        data = _read_image(data_root, ref, shards)
        if isinstance(data, str):
            return ref, data
        try:
            inspect_image(data)
        except InvalidImage as exc:
            return ref, str(exc)
        return ref, None

    for ref, problem in ordered_map(judge, refs, workers=workers):
        result.add("checked")
        if problem is not None:
            result.add("missing" if problem.startswith("missing") else "undecodable", example=f"{ref}: {problem}")
    return result
