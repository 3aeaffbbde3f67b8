"""One shard of the image cache: fetch every row's image, keep the valid ones, in row order.

Fetches run concurrently and finish in any order; each finished row goes into the shard's
journal (`Cc3mPaths.shard_progress`) at once, with its bytes. When every row has an entry, the
shard is written from the journal in row-id order: `<shard>.tar` (webdataset samples
`<key>.<ext>`, `<key>.txt`, `<key>.json`, valid images only) and then `<shard>.parquet` (every
row with its status), both atomically; then the journal is removed. So the shard's bytes depend
only on what the servers sent, never on timing or completion order, and a killed run resumes
from the journal without fetching a stored image again.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.counts import Tally
from mm_assets.common.journal import Journal
from mm_assets.common.progress import Progress
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules, Judged, judge
from mm_assets.fetch.crawl import Crawler, CrawlLimits, crawl_each, run_crawl
from mm_assets.fetch.http import FetchPolicy
from mm_assets.fetch.outcomes import OK
from mm_assets.formats.parquet import parquet_writer
from mm_assets.formats.webdataset import open_shard, sample_key

SHARD_SCHEMA = pa.schema([
    ("row_id", pa.int64()), ("url", pa.string()), ("caption", pa.string()), ("sha256", pa.string()),
    ("width", pa.int32()), ("height", pa.int32()), ("format", pa.string()), ("bytes", pa.int64()),
    ("status", pa.string()), ("http_status", pa.int32()),
])
IDENTITY_KEY = b"mm_assets.cc3m.shard"  # parquet metadata: what the shard is, under which rules
JOURNAL_VERSION = 1


@dataclass(frozen=True)
class ShardSummary:
    shard: str
    rows: int
    images: int
    image_bytes: int
    statuses: Tally  # rows per status; failures also as dropped_<status>
    fetched: int  # fetched by this run
    resumed: int  # found in the journal of a killed run
    seconds: float


def shard_identity(shard: str, rows: pa.Table, rules: ImageRules) -> dict:
    ids = rows["row_id"]
    first, last = (ids[0].as_py(), ids[-1].as_py()) if len(ids) else (None, None)
    return {"version": JOURNAL_VERSION, "shard": shard, "rows": len(ids), "first_row": first,
            "last_row": last, "rules": rules.identity()}


def complete_shard_identity(paths: Cc3mPaths, shard: str) -> dict | None:
    """The identity recorded by a complete shard (tar and parquet both there), else None."""
    tar, index = paths.shard_tar(shard), paths.shard_index(shard)
    if not (tar.is_file() and index.is_file()):
        return None
    try:
        value = (pq.ParquetFile(index).metadata.metadata or {}).get(IDENTITY_KEY)
    except (OSError, pa.ArrowInvalid):
        return None
    return json.loads(value) if value else None


def stored_shard_summary(paths: Cc3mPaths, shard: str) -> ShardSummary:
    """The counts of a complete shard, from its parquet index."""
    table = pq.read_table(paths.shard_index(shard), columns=["status", "bytes"])
    statuses = Tally()
    for status, count in zip(*(column.to_pylist() for column in pc.value_counts(table["status"]).flatten())):
        statuses.add(status if status == OK else f"dropped_{status}", count)
    image_bytes = pc.sum(table.filter(pc.equal(table["status"], OK))["bytes"]).as_py() or 0
    return ShardSummary(shard, table.num_rows, statuses[OK], image_bytes, statuses, 0, 0, 0.0)


def cache_shard(
    rows: pa.Table,
    shard: str,
    paths: Cc3mPaths,
    *,
    policy: FetchPolicy,
    limits: CrawlLimits,
    rules: ImageRules,
    workers: int,
    log: Callable[[str], None] | None = None,
) -> ShardSummary:
    """Fetch, judge and store the shard's images (`rows`: row_id, caption, url in row order)."""
    started = time.monotonic()
    identity = shard_identity(shard, rows, rules)
    with Journal.open(paths.shard_progress(shard), identity) as journal:
        resumed = len(journal.entries)
        done = {entry.header["row_id"] for entry in journal.entries}
        ids, urls = rows["row_id"].to_pylist(), rows["url"].to_pylist()
        todo = [(row_id, url) for row_id, url in zip(ids, urls) if row_id not in done]
        if log and resumed:
            log(f"shard {shard}: {resumed:,} rows already fetched by a killed run are kept; {len(todo):,} to fetch")
        progress = Progress(f"shard {shard}", log, total=len(todo), unit="images")
        run_crawl(_fetch_into(journal, todo, policy=policy, limits=limits, rules=rules, workers=workers,
                              progress=progress))
        progress.finish()
        journal.sync()
        statuses, images, image_bytes = _write_shard(rows, journal, shard, paths, identity)
    journal.remove()
    return ShardSummary(shard, rows.num_rows, images, image_bytes, statuses, len(todo), resumed,
                        time.monotonic() - started)


async def _fetch_into(journal: Journal, todo: list[tuple[int, str]], *, policy: FetchPolicy,
                      limits: CrawlLimits, rules: ImageRules, workers: int, progress: Progress) -> None:
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="mm-judge") as pool:
        async with Crawler(policy, limits) as crawler:
            async def fetch_and_judge(item: tuple[int, str]) -> Judged:
                result = await crawler.fetch(item[1])
                if result.status != OK:
                    return judge(result, rules)
                return await loop.run_in_executor(pool, judge, result, rules)  # Pillow off the loop

            async for (row_id, _), judged in crawl_each(todo, fetch_and_judge, concurrency=limits.concurrency):
                journal.append({"row_id": row_id, **judged.header()}, judged.data or b"")
                progress.advance(1)


def _write_shard(rows: pa.Table, journal: Journal, shard: str, paths: Cc3mPaths,
                 identity: dict) -> tuple[Tally, int, int]:
    by_row = {entry.header["row_id"]: entry for entry in journal.entries}
    columns: dict[str, list] = {name: [] for name in SHARD_SCHEMA.names}
    statuses = Tally()
    images = image_bytes = 0
    with open_shard(paths.shard_tar(shard)) as tar:
        for row_id, caption, url in zip(*(rows[name].to_pylist() for name in ("row_id", "caption", "url"))):
            entry = by_row[row_id]
            header = entry.header
            status = header["status"]
            statuses.add(status if status == OK else f"dropped_{status}", example=None if status == OK else url)
            if status == OK:
                key = sample_key(row_id)
                data = journal.read_body(entry)
                record = {name: header[name] for name in ("status", "http_status", "sha256", "width", "height",
                                                       "format", "bytes") if name in header}
                record.update({"key": key, "row_id": row_id, "url": url, **({"served": header["served"]}
                                                                              if "served" in header else {})})
                tar.add(key, {header["format"]: data, "txt": caption.encode("utf-8"),
                              "json": json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")})
                images += 1
                image_bytes += len(data)
            for name, value in (("row_id", row_id), ("url", url), ("caption", caption),
                                ("sha256", header.get("sha256")), ("width", header.get("width")),
                                ("height", header.get("height")), ("format", header.get("format")),
                                ("bytes", header.get("bytes")), ("status", status),
                                ("http_status", header.get("http_status"))):
                columns[name].append(value)
    table = pa.table(columns, schema=SHARD_SCHEMA)
    with parquet_writer(paths.shard_index(shard), SHARD_SCHEMA, compression="zstd") as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({IDENTITY_KEY: json.dumps(identity, sort_keys=True).encode()})
    return statuses, images, image_bytes
