"""What CC3M's asset checks prove, as plain functions: each returns the problems found (none: [])."""

from __future__ import annotations

import hashlib
import json

import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.datasets.cc3m.index import read_index_info, read_shard
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules
from mm_assets.datasets.cc3m.subset import NotEnoughImages, select_subset
from mm_assets.fetch.outcomes import OK
from mm_assets.formats.archive_limits import DEFAULT_MAX_MEMBER_BYTES
from mm_assets.formats.webdataset import iter_samples, member_offsets, sample_key

MAX_PROBLEMS = 10


def index_problems(paths: Cc3mPaths) -> list[str]:
    """Row ids strictly increasing and below the line count; no empty caption or URL."""
    if not paths.index.is_file():
        return [f"{paths.index} is missing; materialize cc3m_index"]
    info = read_index_info(paths.index)
    table = pq.read_table(paths.index)
    ids = table["row_id"]
    problems = []
    if len(ids) and (pc.min(ids).as_py() < 0 or pc.max(ids).as_py() >= info.lines):
        problems.append(f"row ids outside 0..{info.lines - 1}")
    if len(ids) > 1:
        steps = pc.subtract(ids.slice(1), ids.slice(0, len(ids) - 1))
        if pc.min(steps).as_py() <= 0:
            problems.append("row ids are not strictly increasing (file order)")
    for column in ("caption", "url"):
        empty = pc.sum(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table[column])), 0)).as_py() or 0
        if empty:
            problems.append(f"{empty:,} rows with an empty {column}")
    return problems


def snapshot_problems(paths: Cc3mPaths, shard: str) -> list[str]:
    """The latest snapshot of the shard holds each of its rows once, with the index's URL."""
    snapshots = sorted(paths.snapshots_of(shard).glob("*.parquet"))
    if not snapshots:
        return [f"no snapshot of shard {shard}; materialize cc3m_availability for it"]
    snapshot = pq.read_table(snapshots[-1], columns=["row_id", "url", "status"])
    rows = read_shard(paths.index, shard)
    if snapshot["row_id"].to_pylist() != rows["row_id"].to_pylist():
        return [f"{snapshots[-1].name} covers {snapshot.num_rows:,} rows, the shard has {rows.num_rows:,} "
                "(or another order); materialize cc3m_availability for it again"]
    if snapshot["url"] != rows["url"]:
        return [f"{snapshots[-1].name} checked other URLs than the index holds; materialize cc3m_index "
                "and cc3m_availability again"]
    if pc.sum(pc.is_null(snapshot["status"])).as_py():
        return [f"{snapshots[-1].name} has rows without a class"]
    return []


def shard_problems(paths: Cc3mPaths, shard: str) -> tuple[list[str], int]:
    """The tar holds exactly the `ok` rows of the parquet, in row order, each image with the
    recorded size and sha256, its caption and its JSON; returns (problems, samples read)."""
    tar, index = paths.shard_tar(shard), paths.shard_index(shard)
    redo = f"materialize cc3m_image_cache for partition {shard} with force_download"
    if not (tar.is_file() and index.is_file()):
        return [f"{tar.name} or {index.name} is missing; materialize cc3m_image_cache for partition {shard}"], 0
    table = pq.read_table(index)
    ok = table.filter(pc.equal(table["status"], OK))
    expected = {sample_key(row["row_id"]): row for row in ok.to_pylist()}
    problems: list[str] = []
    keys: list[str] = []
    try:
        # The images' recorded sizes may exceed the default member cap when MM_CC3M_MAX_BYTES was raised.
        cap = max([DEFAULT_MAX_MEMBER_BYTES, *(row["bytes"] for row in expected.values())])
        for key, members in iter_samples(tar, max_member_bytes=cap):
            keys.append(key)
            row = expected.get(key)
            if row is None:
                problems.append(f"sample {key} is in the tar but not `ok` in the index")
                continue
            image = members.get(row["format"])
            if image is None:
                problems.append(f"sample {key} has no .{row['format']} member")
            elif len(image) != row["bytes"] or hashlib.sha256(image).hexdigest() != row["sha256"]:
                problems.append(f"sample {key}: the image is not the bytes the index records")
            if members.get("txt", b"").decode("utf-8") != row["caption"]:
                problems.append(f"sample {key}: the caption differs from the index")
            if json.loads(members.get("json", b"{}")).get("row_id") != row["row_id"]:
                problems.append(f"sample {key}: its .json names another row")
            if len(problems) >= MAX_PROBLEMS:
                break
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{tar.name} cannot be read: {type(exc).__name__}: {exc}")
    if not problems and keys != list(expected):
        problems.append(f"the tar holds {len(keys):,} samples, the index {len(expected):,} `ok` rows "
                        "(or another order)")
    return [f"{problem}; {redo}" for problem in problems], len(keys)


def subset_problems(paths: Cc3mPaths, *, size: int, repeats: int, rules: ImageRules) -> list[str]:
    """The subset files are the selection made again from the shards, and every image resolves."""
    if not (paths.subset.is_file() and paths.subset_ids_urls.is_file()):
        return ["subset.parquet or subset_ids_urls.tsv is missing; materialize cc3m_subset"]
    try:
        again = select_subset(paths, size=size, repeats=repeats, rules=rules)
    except NotEnoughImages as exc:
        return [f"the selection cannot be made again: {exc}"]
    written = pq.read_table(paths.subset)
    problems = []
    if not written.equals(again.table):
        problems.append(f"subset.parquet ({written.num_rows:,} rows) is not the first {size:,} valid rows of the "
                        "cached shards (settings or shards changed since?); materialize cc3m_subset again")
    lines = paths.subset_ids_urls.read_text(encoding="utf-8").splitlines()
    expected = ["row_id\turl"] + [f"{r}\t{u}" for r, u in zip(written["row_id"].to_pylist(), written["url"].to_pylist())]
    if lines != expected:
        problems.append("subset_ids_urls.tsv does not list the rows of subset.parquet")
    for shard in sorted(set(written["shard"].to_pylist())):
        keys = set(pc.filter(written["key"], pc.equal(written["shard"], shard)).to_pylist())
        missing = keys - set(member_offsets(paths.shard_tar(shard)))
        if missing:
            problems.append(f"{len(missing):,} images of shard {shard} are not in {shard}.tar, e.g. {min(missing)}")
    return problems

