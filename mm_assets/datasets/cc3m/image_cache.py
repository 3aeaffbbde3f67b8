"""One shard of the image cache: fetch every row's image, keep the valid ones, in row order.

Fetches run concurrently and finish in any order; each finished row goes into the shard's
journal (`Cc3mPaths.shard_progress`) at once, with its bytes, and the shard is written from the
journal in row-id order as soon as every earlier row is in: `<shard>.tar` (webdataset samples
`<key>.<ext>`, `<key>.txt`, `<key>.json`, valid images only) and, once the tar is complete,
`<shard>.parquet` (every row with its status), both atomically; then the journal is removed. So the shard's bytes depend
only on what the servers sent, never on timing or completion order, and a killed run resumes
from the journal without fetching a stored image again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.counts import Tally
from mm_assets.common.journal import Entry, Journal
from mm_assets.common.progress import Progress
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules, judge
from mm_assets.fetch.crawl import Crawler, CrawlLimits, crawl_each
from mm_assets.fetch.http import FetchPolicy
from mm_assets.fetch.outcomes import OK, TIMEOUT
from mm_assets.formats.parquet import parquet_writer
from mm_assets.formats.webdataset import ShardWriter, open_shard, sample_key

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
    answered_s: float = 0.0  # until the last answer that was not a timeout (the rest waited for timeouts)


def shard_identity(shard: str, rows: pa.Table, rules: ImageRules) -> dict:
    """What a shard is: its rows (a hash of every row id, URL and caption: a shard cached from
    another index of the same shape is not this one's) and the image rules it was judged by."""
    ids = rows["row_id"]
    first, last = (ids[0].as_py(), ids[-1].as_py()) if len(ids) else (None, None)
    digest = hashlib.sha256()
    for row in zip(ids.to_pylist(), rows["url"].to_pylist(), rows["caption"].to_pylist()):
        digest.update(json.dumps(row, ensure_ascii=True).encode("ascii") + b"\n")
    return {"version": JOURNAL_VERSION, "shard": shard, "rows": len(ids), "first_row": first,
            "last_row": last, "rows_sha256": digest.hexdigest(), "rules": rules.identity()}


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
    with Journal.open(paths.shard_progress(shard), identity) as journal, \
            open_shard(paths.shard_tar(shard)) as tar:
        assembler = _Assembler(rows, journal, tar)
        for entry in journal.entries:  # what a killed run fetched: written again, never fetched again
            assembler.offer(entry)
        resumed = len(journal.entries)
        todo = [(row_id, url) for row_id, url in zip(assembler.ids, rows["url"].to_pylist())
                if row_id not in assembler.seen]
        if log and resumed:
            log(f"shard {shard}: {resumed:,} rows already fetched by a killed run are kept; {len(todo):,} to fetch")
        progress = Progress(f"shard {shard}", log, total=len(todo), unit="images")
        answered_s = asyncio.run(_fetch_into(journal, assembler, todo, policy=policy, limits=limits, rules=rules,
                                           workers=workers, progress=progress))
        progress.finish()
        journal.sync()
        assembler.check_complete()
    _write_index(assembler, paths.shard_index(shard), identity)  # after the tar: the shard's commit mark
    journal.remove()
    return ShardSummary(shard, rows.num_rows, assembler.images, assembler.image_bytes, assembler.statuses,
                        len(todo), resumed, time.monotonic() - started, answered_s)


async def _fetch_into(journal: Journal, assembler: "_Assembler", todo: list[tuple[int, str]], *,
                      policy: FetchPolicy, limits: CrawlLimits, rules: ImageRules, workers: int,
                      progress: Progress) -> float:
    """Fetch, judge and journal every row of `todo` (judging and journaling on worker threads, so
    the event loop only moves bytes); returns the seconds until the last answer that was not a
    timeout."""
    loop = asyncio.get_running_loop()
    started = answered = time.monotonic()

    def judge_and_record(row_id: int, result) -> Entry:
        judged = judge(result, rules)
        return journal.append({"row_id": row_id, **judged.header()}, judged.data or b"")

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="mm-judge") as pool:
        async with Crawler(policy, limits) as crawler:
            async def fetch_and_record(item: tuple[int, str]) -> Entry:
                result = await crawler.fetch(item[1])
                return await loop.run_in_executor(pool, judge_and_record, item[0], result)

            async for _, entry in crawl_each(todo, fetch_and_record, concurrency=limits.concurrency):
                assembler.offer(entry)
                progress.advance(1)
                if entry.header["status"] != TIMEOUT:
                    answered = time.monotonic()
    return answered - started


class _Assembler:
    """Writes rows to the shard in row order as soon as every earlier row is in the journal."""

    def __init__(self, rows: pa.Table, journal: Journal, tar: ShardWriter) -> None:
        self.ids = rows["row_id"].to_pylist()
        self.captions = rows["caption"].to_pylist()
        self.urls = rows["url"].to_pylist()
        self.journal, self.tar = journal, tar
        self.waiting: dict[int, Entry] = {}
        self.seen: set[int] = set()
        self.next = 0
        self.columns: dict[str, list] = {name: [] for name in SHARD_SCHEMA.names}
        self.statuses = Tally()
        self.images = self.image_bytes = 0

    def offer(self, entry: Entry) -> None:
        row_id = entry.header["row_id"]
        self.seen.add(row_id)
        self.waiting[row_id] = entry
        while self.next < len(self.ids) and self.ids[self.next] in self.waiting:
            self._write(self.next, self.waiting.pop(self.ids[self.next]))
            self.next += 1

    def check_complete(self) -> None:
        if self.next != len(self.ids):
            raise RuntimeError(f"row {self.ids[self.next]} was never fetched")  # a bug, not a property of a URL

    def _write(self, index: int, entry: Entry) -> None:
        row_id, caption, url = self.ids[index], self.captions[index], self.urls[index]
        header = entry.header
        status = header["status"]
        self.statuses.add(status if status == OK else f"dropped_{status}", example=None if status == OK else url)
        if status == OK:
            key = sample_key(row_id)
            data = self.journal.read_body(entry)
            record = {name: header[name] for name in ("status", "http_status", "sha256", "width", "height",
                                                      "format", "bytes")}
            record.update({"key": key, "row_id": row_id, "url": url})
            if "served" in header:
                record["served"] = header["served"]
            self.tar.add(key, {header["format"]: data, "txt": caption.encode("utf-8"),
                               "json": json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")})
            self.images += 1
            self.image_bytes += len(data)
        for name, value in (("row_id", row_id), ("url", url), ("caption", caption), ("status", status)):
            self.columns[name].append(value)
        for name in ("sha256", "width", "height", "format", "bytes", "http_status"):
            self.columns[name].append(header.get(name))


def _write_index(assembler: _Assembler, path, identity: dict) -> None:
    table = pa.table(assembler.columns, schema=SHARD_SCHEMA)
    with parquet_writer(path, SHARD_SCHEMA, compression="zstd") as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({IDENTITY_KEY: json.dumps(identity, sort_keys=True).encode()})
