"""One shard of the image cache: fetch every row's image, keep the valid ones, in row order.

Fetches run concurrently and finish in any order; the shard is written in row-id order as soon as
every earlier row is in: `<shard>.tar` (webdataset samples `<key>.<ext>`, `<key>.txt`,
`<key>.json`, valid images only) and, once the tar is complete, `<shard>.parquet` (every row with
its status), both renamed into place; then the journal is removed. So the shard's bytes depend
only on what the servers sent, never on timing or completion order.

Each image is written once: straight into the tar when its turn has come, else held in memory
until it has (up to `window_bytes`); only what would overflow that window is spilled to the
shard's journal (`Cc3mPaths.shard_progress`) and copied into the tar later. The tar is written at
a fixed path beside the journal, unbuffered, and after each image the journal records where the
tar then ends. A killed run resumes from both: the tar is cut back to the last end the journal
recorded and appended to, failed rows and spilled images come from the journal, and only the
images that were held in memory are fetched again; the bytes are those of an uninterrupted run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.atomic import fsync_dir
from mm_assets.common.counts import Tally
from mm_assets.common.journal import Entry, Journal
from mm_assets.common.progress import Progress
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules, judge
from mm_assets.fetch.crawl import Crawler, CrawlLimits, crawl_each
from mm_assets.fetch.http import FetchPolicy
from mm_assets.fetch.outcomes import OK, TIMEOUT
from mm_assets.formats.parquet import parquet_writer
from mm_assets.formats.webdataset import ShardWriter, sample_key

SHARD_SCHEMA = pa.schema([
    ("row_id", pa.int64()), ("url", pa.string()), ("caption", pa.string()), ("sha256", pa.string()),
    ("width", pa.int32()), ("height", pa.int32()), ("format", pa.string()), ("bytes", pa.int64()),
    ("status", pa.string()), ("http_status", pa.int32()),
])
IDENTITY_KEY = b"mm_assets.cc3m.shard"  # parquet metadata: what the shard is, under which rules
JOURNAL_VERSION = 2  # 2: images written once (tar appended in place; the journal holds spills only)
WINDOW_BYTES = 256 << 20  # images held in memory until their turn; beyond it they are spilled


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
    spilled: int = 0  # images written twice: to the journal (the memory window was full), then the tar


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


def partial_tar_path(paths: Cc3mPaths, shard: str) -> Path:
    """The shard's tar while it is written, beside its journal (both go when the shard is done)."""
    return paths.shard_progress(shard).with_suffix(".tar-partial")


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
    window_bytes: int = WINDOW_BYTES,
) -> ShardSummary:
    """Fetch, judge and store the shard's images (`rows`: row_id, caption, url in row order)."""
    started = time.monotonic()
    identity = shard_identity(shard, rows, rules)
    with Journal.open(paths.shard_progress(shard), identity) as journal:
        assembler = _Assembler(rows, journal, partial_tar_path(paths, shard), window_bytes)
        try:
            resumed = assembler.resume()
            todo = [(row_id, url) for row_id, url in zip(assembler.ids, rows["url"].to_pylist())
                    if row_id not in assembler.seen]
            if log and resumed:
                log(f"shard {shard}: {resumed:,} rows done by a killed run are kept; {len(todo):,} to fetch")
            progress = Progress(f"shard {shard}", log, total=len(todo), unit="images")
            answered_s = asyncio.run(_fetch_into(assembler, todo, policy=policy, limits=limits, rules=rules,
                                               workers=workers, progress=progress))
            progress.finish()
            assembler.check_complete()
            assembler.commit(paths.shard_tar(shard))
        finally:
            assembler.close()
        journal.sync()
    _write_index(assembler, paths.shard_index(shard), identity)  # after the tar: the shard's commit mark
    journal.remove()
    return ShardSummary(shard, rows.num_rows, assembler.images, assembler.image_bytes, assembler.statuses,
                        len(todo), resumed, time.monotonic() - started, answered_s, assembler.spilled)


async def _fetch_into(assembler: "_Assembler", todo: list[tuple[int, str]], *,
                      policy: FetchPolicy, limits: CrawlLimits, rules: ImageRules, workers: int,
                      progress: Progress) -> float:
    """Fetch and judge every row of `todo` (judging on worker threads, so the event loop only moves
    bytes) and hand each to the assembler; returns the seconds until the last answer that was
    not a timeout."""
    loop = asyncio.get_running_loop()
    started = answered = time.monotonic()
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="mm-judge") as pool:
        async with Crawler(policy, limits) as crawler:
            async def fetch_and_judge(item: tuple[int, str]):
                result = await crawler.fetch(item[1])
                judged = await loop.run_in_executor(pool, judge, result, rules)
                return {"row_id": item[0], **judged.header()}, judged.data or b""

            async for _, (header, data) in crawl_each(todo, fetch_and_judge, concurrency=limits.concurrency):
                assembler.accept(header, data)
                progress.advance(1)
                if header["status"] != TIMEOUT:
                    answered = time.monotonic()
    return answered - started


class _Assembler:
    """Writes rows to the shard in row order as soon as every earlier row is in, each image once."""

    def __init__(self, rows: pa.Table, journal: Journal, tar_path: Path, window_bytes: int) -> None:
        self.ids = rows["row_id"].to_pylist()
        self.captions = rows["caption"].to_pylist()
        self.urls = rows["url"].to_pylist()
        self.journal, self.tar_path, self.window_bytes = journal, tar_path, window_bytes
        self.waiting: dict[int, tuple[dict, bytes | Entry]] = {}  # row id -> header, image or its spill
        self.held_bytes = 0
        self.seen: set[int] = set()
        self.next = 0
        self.columns: dict[str, list] = {name: [] for name in SHARD_SCHEMA.names}
        self.statuses = Tally()
        self.images = self.image_bytes = self.spilled = 0
        self._handle = None
        self._archive: tarfile.TarFile | None = None
        self._tar: ShardWriter | None = None

    def resume(self) -> int:
        """Take up what a killed run left: the tar up to the last end the journal recorded, failed
        rows and spilled images from the journal. Returns the number of rows taken up."""
        latest: dict[int, Entry] = {}
        spills: dict[int, Entry] = {}
        for entry in self.journal.entries:
            latest[entry.header["row_id"]] = entry
            if entry.length:
                spills[entry.header["row_id"]] = entry
        size = self.tar_path.stat().st_size if self.tar_path.exists() and latest else 0
        tar_end = 0
        for row_id in self.ids:  # the rows already in the tar, in order
            entry = latest.get(row_id)
            if entry is None or (entry.header["status"] == OK and not 0 < entry.header.get("tar_end", 0) <= size):
                break
            self._account(self.next, entry.header)
            tar_end = entry.header.get("tar_end", tar_end)
            self.seen.add(row_id)
            self.next += 1
        self._open_tar(tar_end)
        for row_id, entry in latest.items():  # after them: failed rows, and images spilled to the journal
            if row_id in self.seen:
                continue
            if entry.header["status"] != OK:
                self._offer(row_id, entry.header, b"")
            elif row_id in spills:
                self._offer(row_id, spills[row_id].header, spills[row_id])
        return len(self.seen)

    def accept(self, header: dict, data: bytes) -> None:
        """A row just fetched and judged: written now, held in memory, or spilled to the journal."""
        row_id = header["row_id"]
        if header["status"] != OK:
            self.journal.append(header)  # small: a resume need not fetch it again
            self._offer(row_id, header, b"")
        elif self.ids[self.next] == row_id or self.held_bytes + len(data) <= self.window_bytes:
            self.held_bytes += len(data)
            self._offer(row_id, header, data)
        else:
            self.spilled += 1
            self._offer(row_id, header, self.journal.append(header, data))

    def _offer(self, row_id: int, header: dict, body: bytes | Entry) -> None:
        self.seen.add(row_id)
        self.waiting[row_id] = (header, body)
        while self.next < len(self.ids) and self.ids[self.next] in self.waiting:
            header, body = self.waiting.pop(self.ids[self.next])
            self._write(self.next, header, body)
            self.next += 1

    def check_complete(self) -> None:
        if self.next != len(self.ids):
            raise RuntimeError(f"row {self.ids[self.next]} was never fetched")  # a bug, not a property of a URL

    def _open_tar(self, start: int) -> None:
        self._handle = open(self.tar_path, "r+b" if self.tar_path.exists() else "w+b", buffering=0)
        self._handle.truncate(start)  # what a killed run wrote after its last recorded end goes
        self._handle.seek(start)
        self._archive = tarfile.open(fileobj=self._handle, mode="w", format=tarfile.USTAR_FORMAT)
        self._tar = ShardWriter(self._archive)

    def commit(self, final: Path) -> None:
        """End the tar and rename it into place."""
        self._archive.close()  # the end-of-archive blocks
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self.tar_path, final)
        fsync_dir(final.parent)

    def close(self) -> None:
        if self._handle is not None and not self._handle.closed:
            self._handle.close()  # killed or failed: the partial tar stays for the next run

    def _write(self, index: int, header: dict, body: bytes | Entry) -> None:
        row_id, caption, url = self.ids[index], self.captions[index], self.urls[index]
        if header["status"] == OK:
            data = self.journal.read_body(body) if isinstance(body, Entry) else body
            if not isinstance(body, Entry):
                self.held_bytes -= len(data)
            key = sample_key(row_id)
            record = {name: header[name] for name in ("status", "http_status", "sha256", "width", "height",
                                                      "format", "bytes")}
            record.update({"key": key, "row_id": row_id, "url": url})
            if "served" in header:
                record["served"] = header["served"]
            self._tar.add(key, {header["format"]: data, "txt": caption.encode("utf-8"),
                                "json": json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")})
            self.journal.append({**header, "tar_end": self._archive.offset})  # no body: it is in the tar
        self._account(index, header)

    def _account(self, index: int, header: dict) -> None:
        """The row's line of the shard's parquet index, and the counts."""
        row_id, caption, url = self.ids[index], self.captions[index], self.urls[index]
        status = header["status"]
        self.statuses.add(status if status == OK else f"dropped_{status}", example=None if status == OK else url)
        if status == OK:
            self.images += 1
            self.image_bytes += header["bytes"]
        for name, value in (("row_id", row_id), ("url", url), ("caption", caption), ("status", status)):
            self.columns[name].append(value)
        for name in ("sha256", "width", "height", "format", "bytes", "http_status"):
            self.columns[name].append(header.get(name))


def _write_index(assembler: _Assembler, path, identity: dict) -> None:
    table = pa.table(assembler.columns, schema=SHARD_SCHEMA)
    with parquet_writer(path, SHARD_SCHEMA, compression="zstd") as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({IDENTITY_KEY: json.dumps(identity, sort_keys=True).encode()})
