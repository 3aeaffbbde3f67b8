"""Which of a shard's URLs answer with an image, as a dated snapshot; the history of link rot.

Every check of a shard is a new file `availability/<shard>/<snapshot>.parquet` (UTC time of the
check, e.g. `20261130T040000Z`), never overwritten: every row's class (ok, http_error, timeout,
dns_failure, connection_error, too_many_redirects, not_an_image, too_large, blocked_address,
bad_url, robots_refused, placeholder), HTTP status, final URL and announced size. Each file
carries its `shard` and `snapshot` as columns, so the whole history reads as one table:
`pyarrow.parquet.read_table("$MM_DATA_ROOT/cc3m/availability")`.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.counts import Tally
from mm_assets.common.progress import Progress
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import PLACEHOLDER
from mm_assets.fetch.crawl import Crawler, CrawlLimits, CrawlResult, crawl_each
from mm_assets.fetch.http import FetchPolicy
from mm_assets.fetch.outcomes import OK, TIMEOUT
from mm_assets.formats.parquet import write_parquet
from mm_assets.images.placeholders import placeholder_url

SNAPSHOT_SCHEMA = pa.schema([
    ("shard", pa.string()), ("snapshot", pa.string()), ("row_id", pa.int64()), ("url", pa.string()),
    ("status", pa.string()), ("http_status", pa.int32()), ("detail", pa.string()),
    ("final_url", pa.string()), ("redirects", pa.int8()), ("content_type", pa.string()),
    ("size", pa.int64()),
])
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Snapshot:
    path: Path
    stamp: str
    table: pa.Table
    statuses: Tally
    seconds: float
    answered_s: float  # until the last answer that was not a timeout (the rest waited for timeouts)

    @property
    def checked(self) -> int:
        return self.table.num_rows

    @property
    def ok(self) -> int:
        return self.statuses["ok"]


def snapshot_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime(STAMP_FORMAT)


def check_shard(
    rows: pa.Table,
    shard: str,
    paths: Cc3mPaths,
    *,
    policy: FetchPolicy,
    limits: CrawlLimits,
    log: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """Check every URL of `rows` (row_id, url) and write a new snapshot of the shard."""
    started = time.monotonic()
    stamp = snapshot_stamp(now)
    path = paths.snapshot(shard, stamp)
    if path.exists():
        raise FileExistsError(f"{path} exists: a snapshot of shard {shard} was taken this second already")
    progress = Progress(f"check shard {shard}", log, total=rows.num_rows, unit="URLs")
    results, answered_s = asyncio.run(_check_all(list(zip(rows["row_id"].to_pylist(), rows["url"].to_pylist())),
                                               policy, limits, progress))
    progress.finish()
    results.sort(key=lambda pair: pair[0])
    statuses = Tally()
    columns: dict[str, list] = {name: [] for name in SNAPSHOT_SCHEMA.names}
    for row_id, result in results:
        status = classify(result)
        statuses.add(status if status == OK else f"dropped_{status}", example=None if status == OK else result.url)
        for name, value in (("shard", shard), ("snapshot", stamp), ("row_id", row_id), ("url", result.url),
                            ("status", status), ("http_status", result.http_status), ("detail", result.detail),
                            ("final_url", result.final_url), ("redirects", result.redirects),
                            ("content_type", result.content_type), ("size", result.size)):
            columns[name].append(value)
    table = pa.table(columns, schema=SNAPSHOT_SCHEMA)
    write_parquet(table, path, compression="zstd")
    return Snapshot(path, stamp, table, statuses, time.monotonic() - started, answered_s)


def classify(result: CrawlResult) -> str:
    """The crawl's class, or `placeholder` for an image reached at a known placeholder URL."""
    if result.status == OK and (placeholder_url(result.url, redirected=False) or (
            result.redirects and placeholder_url(result.final_url or "", redirected=True))):
        return PLACEHOLDER
    return result.status


async def _check_all(items: list[tuple[int, str]], policy: FetchPolicy, limits: CrawlLimits,
                     progress: Progress) -> tuple[list[tuple[int, CrawlResult]], float]:
    results: list[tuple[int, CrawlResult]] = []
    started = answered = time.monotonic()
    async with Crawler(policy, limits) as crawler:
        async for (row_id, _), result in crawl_each(items, lambda item: crawler.check(item[1]),
                                                    concurrency=limits.concurrency):
            results.append((row_id, result))
            progress.advance(1)
            if result.status != TIMEOUT:
                answered = time.monotonic()
    return results, answered - started


@dataclass(frozen=True)
class SnapshotSummary:
    stamp: str
    checked: int
    ok: int

    @property
    def rate(self) -> float:
        return self.ok / self.checked if self.checked else 0.0


def shard_history(paths: Cc3mPaths, shard: str) -> list[SnapshotSummary]:
    """Every snapshot of a shard, oldest first: rows checked and rows ok."""
    history = []
    for path in sorted(paths.snapshots_of(shard).glob("*.parquet")):
        statuses = pq.read_table(path, columns=["status"])["status"]
        ok = pc.sum(pc.equal(statuses, OK)).as_py() or 0
        history.append(SnapshotSummary(path.stem, len(statuses), ok))
    return history


def history_chart(history: list[SnapshotSummary], width: int = 40) -> str:
    """A Markdown table with a bar per snapshot: the share of the shard's URLs that were ok."""
    if not history:
        return "no snapshots"
    rows = ["| snapshot | checked | ok | available |", "| --- | ---: | ---: | --- |"]
    for entry in history:
        bar = "█" * round(entry.rate * width)
        rows.append(f"| {entry.stamp} | {entry.checked:,} | {entry.ok:,} | `{bar:<{width}}` {100 * entry.rate:.1f} % |")
    return "\n".join(rows)


# Before any shard is checked: the share of CC3M's links found alive in 2024-2026 (50-65 %).
ASSUMED_AVAILABLE = (0.50, 0.65)
# Of the URLs a check finds available, the share assumed to give a valid image once fetched and
# decoded (placeholders, cut and undecodable files are only seen then): a margin, not a measure.
VALID_PER_AVAILABLE = 0.9


@dataclass(frozen=True)
class ShardsToCache:
    """How many shards (from 00000 on) to cache for `size` valid images, at the availability seen."""

    shards: int  # at the availability seen, or at the low end of ASSUMED_AVAILABLE before any check
    shards_checked: int
    rows_checked: int
    available: int
    total_shards: int
    shard_rows: int

    @property
    def available_share(self) -> float | None:
        return self.available / self.rows_checked if self.rows_checked else None

    def describe(self, size: int) -> str:
        capped = " (more than the index has: every shard, and the subset falls short)" if self.shards > self.total_shards else ""
        if self.available_share is None:
            low, high = (_shards_for(size, share, self.shard_rows) for share in reversed(ASSUMED_AVAILABLE))
            return (f"no shard checked yet: at {ASSUMED_AVAILABLE[0]:.0%}-{ASSUMED_AVAILABLE[1]:.0%} of the links "
                    f"alive, {low}-{high} shards of {self.shard_rows:,} rows for {size:,} images{capped}; "
                    "materialize cc3m_availability for a few shards for a figure from this index")
        return (f"{self.shards} shards for {size:,} images: {self.available_share:.1%} of the "
                f"{self.rows_checked:,} URLs checked in {self.shards_checked} shard(s) were available (latest "
                f"snapshots), and {VALID_PER_AVAILABLE:.0%} of those are assumed to give a valid image{capped}")


def _shards_for(size: int, available_share: float, shard_rows: int) -> int:
    return math.ceil(size / max(1e-9, available_share * VALID_PER_AVAILABLE * shard_rows))


def shards_to_cache(paths: Cc3mPaths, shards: list[str], *, size: int, shard_rows: int) -> ShardsToCache:
    """From the latest snapshot of every shard checked so far (one status column each)."""
    checked = available = shards_checked = 0
    for shard in shards:
        snapshots = sorted(paths.snapshots_of(shard).glob("*.parquet"))
        if not snapshots:
            continue
        statuses = pq.read_table(snapshots[-1], columns=["status"])["status"]
        checked += len(statuses)
        available += pc.sum(pc.equal(statuses, OK)).as_py() or 0
        shards_checked += 1
    share = available / checked if checked else ASSUMED_AVAILABLE[0]
    return ShardsToCache(_shards_for(size, share, shard_rows), shards_checked, checked, available, len(shards),
                         shard_rows)
