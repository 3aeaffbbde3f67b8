"""What CC3M's asset checks prove, as plain functions: each returns the problems found (none: [])."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.missing import missing_input_message
from mm_assets.datasets.cc3m.index import BATCH_ROWS, read_index_info, read_shard
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules
from mm_assets.datasets.cc3m.subset import NotEnoughImages, select_subset
from mm_assets.fetch.outcomes import OK
from mm_assets.formats.archive_limits import DEFAULT_MAX_MEMBER_BYTES
from mm_assets.formats.webdataset import iter_samples, member_offsets, sample_key

MAX_PROBLEMS = 10


def index_problems(paths: Cc3mPaths) -> list[str]:
    """Row ids strictly increasing and below the line count; no empty caption or URL. Streamed
    by batches: memory does not grow with the index (3.3 M rows)."""
    if not paths.index.is_file():
        return [missing_input_message(paths.index, "cc3m_index")]
    info = read_index_info(paths.index)
    lowest = highest = previous = None
    out_of_order = False
    empty = {"caption": 0, "url": 0}
    for batch in pq.ParquetFile(paths.index).iter_batches(batch_size=BATCH_ROWS):
        ids = batch.column("row_id")
        if not len(ids):
            continue
        first, low, high = ids[0].as_py(), pc.min(ids).as_py(), pc.max(ids).as_py()
        lowest = low if lowest is None else min(lowest, low)
        highest = high if highest is None else max(highest, high)
        if previous is not None and first <= previous:
            out_of_order = True
        if len(ids) > 1 and pc.min(pc.subtract(ids.slice(1), ids.slice(0, len(ids) - 1))).as_py() <= 0:
            out_of_order = True
        previous = ids[-1].as_py()
        for column in empty:
            text = batch.column(column)
            empty[column] += pc.sum(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)).as_py() or 0
    problems = []
    if lowest is not None and (lowest < 0 or highest >= info.lines):
        problems.append(f"row ids outside 0..{info.lines - 1}")
    if out_of_order:
        problems.append("row ids are not strictly increasing (file order)")
    for column, count in empty.items():
        if count:
            problems.append(f"{count:,} rows with an empty {column}")
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
    if missing := [path for path in (tar, index) if not path.is_file()]:
        return [missing_input_message(missing, "cc3m_image_cache", partition=shard)], 0
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
    """The subset files are the selection made again from the shards, and every image resolves.
    The written files are streamed against the selection (which holds the N rows once)."""
    if missing := [path for path in (paths.subset, paths.subset_ids_urls) if not path.is_file()]:
        return [missing_input_message(missing, "cc3m_subset")]
    try:
        again = select_subset(paths, size=size, repeats=repeats, rules=rules).table
    except NotEnoughImages as exc:
        return [f"the selection cannot be made again: {exc}"]
    problems = []
    written = pq.ParquetFile(paths.subset)
    same = written.schema_arrow == again.schema and written.metadata.num_rows == again.num_rows
    offset = 0
    for batch in written.iter_batches(batch_size=BATCH_ROWS) if same else ():
        if not pa.Table.from_batches([batch]).equals(again.slice(offset, batch.num_rows)):
            same = False
            break
        offset += batch.num_rows
    if not same:
        problems.append(f"subset.parquet ({written.metadata.num_rows:,} rows) is not the first {size:,} valid rows "
                        "of the cached shards (settings or shards changed since?); materialize cc3m_subset again")
    if not _tsv_lists(paths.subset_ids_urls, written):
        problems.append("subset_ids_urls.tsv does not list the rows of subset.parquet")
    shards = again["shard"]
    for shard in pc.unique(shards).to_pylist():
        keys = set(pc.filter(again["key"], pc.equal(shards, shard)).to_pylist())
        missing = keys - set(member_offsets(paths.shard_tar(shard)))
        if missing:
            problems.append(f"{len(missing):,} images of shard {shard} are not in {shard}.tar, e.g. {min(missing)}")
    return problems


def _tsv_lists(tsv: Path, written: pq.ParquetFile) -> bool:
    """The TSV is the header, then `row_id TAB url` of each row of the parquet file, in order."""
    with tsv.open(encoding="utf-8", newline="") as handle:
        lines = (line.rstrip("\n") for line in handle)
        if next(lines, None) != "row_id\turl":
            return False
        for batch in written.iter_batches(batch_size=BATCH_ROWS, columns=["row_id", "url"]):
            for row_id, url in zip(batch.column("row_id").to_pylist(), batch.column("url").to_pylist()):
                if next(lines, None) != f"{row_id}\t{url}":
                    return False
        return next(lines, None) is None
