"""One raw shard -> its images in `imagenet/{train,val}/<synset>/<file>` and its part
`imagenet/index_parts/<shard>.parquet`: the unit of work of one `imagenet_shards` partition.

A shard is done in three passes over its parquet file, a batch of rows at a time (memory stays
bounded by the batch window, whatever the shard's size):

1. every row is checked (`check_row`: name, label, a full decode) and its bytes hashed;
2. the kept rows' images are written: temp file, then linked or renamed into place; then every
   file written and every folder written to is fsynced (never a global `sync`). Until the part is
   committed nothing relies on them: a crash before it redoes the shard, which compares each file
   already there with its sha256;
3. every image written is read back and compared with the size and sha256 of pass 1.

Only then is the part committed (atomically): the shard's index rows in file order, each image's
size and sha256, what was left out, and the raw file's size, sha256 and row count. A killed shard
has no part and is redone alone; a finished one is kept as long as its raw file is the same and its
images still match the part (so its raw file may be released: the part is what a rerun needs).

Two rows may name the same file (a broken mirror; ImageNet's names are unique). The index keeps
both rows, as it always did, and the check `folders_match_index` fails on the duplicate path. The
file holds the bytes of the last such row in index order (shard order, then file order), whatever
order the shards run in: before writing, a shard publishes the paths it writes
(`index_parts/<shard>.paths`); a shard that finds a path already written replaces it only if no
later shard claims that path, and decides so under a lock (`claims.lock`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from mm_assets.common.atomic import atomic_write, fsync_dir
from mm_assets.common.hashing import sha256_of
from mm_assets.common.locks import describe_owner, exclusive_lock
from mm_assets.common.parallel import IN_FLIGHT_BYTES, ordered_map
from mm_assets.common.progress import Progress
from mm_assets.formats.parquet import write_parquet

from .paths import SPLITS, ImagenetPaths
from .rows import INDEX_SCHEMA, Dropped, Rejected, check_row, iter_batches
from .shards import Shard

# A part: the index's columns, then what the written file must be.
PART_SCHEMA = INDEX_SCHEMA.append(pa.field("size", pa.int64())).append(pa.field("sha256", pa.string()))
# Bumped whenever the rules change what a shard's part holds: older parts are then redone.
RULES_VERSION = 2
PART_KEY = b"mm_assets_part"
BATCH_ROWS = 64
FSYNC_THREADS = 32


class ShardExtractionError(Exception):
    pass


@dataclass(frozen=True)
class RawRecord:
    """What a part remembers of the raw file it was made from (all a rerun needs once it is gone)."""

    size: int
    sha256: str
    rows: int

    @classmethod
    def of(cls, raw: Path) -> "RawRecord":
        return cls(raw.stat().st_size, sha256_of(raw), pq.ParquetFile(raw).metadata.num_rows)

    def same_file(self, other: "RawRecord") -> bool:
        return (self.size, self.sha256) == (other.size, other.sha256)


@dataclass(frozen=True)
class Part:
    shard: str
    table: pa.Table  # PART_SCHEMA
    raw: RawRecord
    dropped: list[Dropped]

    def index_rows(self) -> pa.Table:
        return self.table.select(INDEX_SCHEMA.names)

    def written(self) -> dict[str, tuple[int, str]]:
        """path -> (size, sha256) the file must have: the last row naming a path wins."""
        paths, sizes, digests = (self.table.column(c).to_pylist() for c in ("path", "size", "sha256"))
        return {path: (size, digest) for path, size, digest in zip(paths, sizes, digests)}


def write_part(path: Path, part: Part) -> None:
    meta = {"rules": RULES_VERSION, "raw": asdict(part.raw), "dropped": [asdict(d) for d in part.dropped]}
    write_parquet(part.table.replace_schema_metadata({PART_KEY: json.dumps(meta).encode()}), path)


def read_part(path: Path) -> Part | None:
    """The part at `path` made under these rules, or None (then its shard is extracted again)."""
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {})[PART_KEY])
        if meta.get("rules") != RULES_VERSION:
            return None
        return Part(path.name.removesuffix(".parquet"), table.replace_schema_metadata(None).cast(PART_SCHEMA),
                    RawRecord(**meta["raw"]), [Dropped(**d) for d in meta["dropped"]])
    except (pa.ArrowException, OSError, KeyError, TypeError, ValueError):
        return None


class Claims:
    """Which of the shards after this one (in index order) publish a claim on a path."""

    def __init__(self, paths: ImagenetPaths, order: list[str], shard: str, mine: Iterable[str]) -> None:
        self._paths = paths
        self._later = order[order.index(shard) + 1:] if shard in order else []
        self._mine = frozenset(mine)
        self._seen: dict[str, tuple[int, frozenset[str]]] = {}  # shard -> (mtime_ns, its claims among mine)

    def later_claim(self, path: str) -> bool:
        """Whether a later shard claims `path` (the claim files are read again when they change)."""
        for name in self._later:
            file = self._paths.claims(name)
            try:
                stamp = file.stat().st_mtime_ns
            except FileNotFoundError:
                self._seen.pop(name, None)
                continue
            if self._seen.get(name, (None,))[0] != stamp:
                with open(file, encoding="utf-8") as handle:
                    claimed = frozenset(line.rstrip("\n") for line in handle) & self._mine
                self._seen[name] = (stamp, claimed)
            if path in self._seen[name][1]:
                return True
        return False


def _publish_claims(paths: ImagenetPaths, shard: str, claimed: Iterable[str]) -> None:
    with atomic_write(paths.claims(shard), "w") as handle:
        handle.write("".join(f"{path}\n" for path in sorted(claimed)))


class _ImagePlacer:
    """Puts one shard's images into place, durably, never over a later shard's bytes."""

    def __init__(self, paths: ImagenetPaths, shard: str, claims: Claims) -> None:
        self._paths, self._shard, self._claims = paths, shard, claims
        self._folders: set[Path] = set()
        self._files: list[Path] = []
        self._lock = threading.Lock()
        self.written = self.present = self.superseded = 0

    def place(self, relative: str, data: bytes, sha256: str) -> None:
        target = self._paths.data_root / relative
        if target.is_file() and target.stat().st_size == len(data) and sha256_of(target) == sha256:
            with self._lock:
                self.present += 1
            return
        folder = target.parent
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._folders.add(folder)
        temp = folder / f".tmp-{target.name}.{self._shard}"
        with open(temp, "wb") as handle:
            handle.write(data)
        outcome = "written"
        try:
            os.link(temp, target)  # never replaces: a file already there is decided below
            os.unlink(temp)
        except FileExistsError:
            with exclusive_lock(self._paths.claims_lock, owner=describe_owner(), what="ImageNet's path claims",
                                wait=True, poll_s=0.01):
                if self._claims.later_claim(relative):
                    os.unlink(temp)
                    outcome = "superseded"
                else:
                    os.replace(temp, target)
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)
            if outcome == "written":
                self._files.append(target)

    def sync(self) -> None:
        """Make every file written and every new name durable. The fsyncs wait on the disk, not the
        CPU: many at once let the file system commit them together."""
        for _ in ordered_map(_fsync_file, self._files, workers=FSYNC_THREADS):
            pass
        for folder in sorted(self._folders):
            fsync_dir(folder)


# Opens read-only and fsyncs: the same for a file as for a folder.
_fsync_file = fsync_dir


def remove_stale_image_temps(paths: ImagenetPaths, shard: str) -> int:
    """Temp files a killed run of this shard left in the class folders (other shards' are theirs)."""
    removed = 0
    suffix = f".{shard}"
    for split in SPLITS:
        root = paths.split_dir(split)
        if not root.is_dir():
            continue
        for folder in os.scandir(root):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder.path):
                if entry.name.startswith(".tmp-") and entry.name.endswith(suffix):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
    return removed


def image_problems(paths: ImagenetPaths, part: Part, order: list[str], *, workers: int,
                   limit: int = 20) -> list[str]:
    """Images of `part` whose file is missing or not the bytes recorded (a later shard's claim excepted)."""
    expected = part.written()
    claims = Claims(paths, order, part.shard, expected)

    def problem(item: tuple[str, tuple[int, str]]) -> str | None:
        relative, (size, digest) = item
        target = paths.data_root / relative
        try:
            actual_size = target.stat().st_size
        except FileNotFoundError:
            return f"{relative}: missing"
        if actual_size != size:
            return f"{relative}: {actual_size:,} bytes, the part records {size:,}"
        if sha256_of(target) != digest:
            return f"{relative}: sha256 differs from the one the part records"
        return None

    found = []
    for message in ordered_map(problem, expected.items(), workers=workers):
        if message is not None and not claims.later_claim(message.split(":", 1)[0]):
            found.append(message)
    return found[:limit] + ([f"... {len(found) - limit} more"] if len(found) > limit else [])


@dataclass(frozen=True)
class Extracted:
    part: Part
    written: int  # images written (new or replaced)
    present: int  # images already in place with the same bytes
    superseded: int  # images a later shard names too (its bytes win)
    stale_temps_removed: int


def extract_shard(shard: Shard, raw: Path, paths: ImagenetPaths, order: list[str], *, workers: int,
                  batch_rows: int = BATCH_ROWS, log: Callable[[str], None] | None = None,
                  record: RawRecord | None = None) -> Extracted:
    """Check, write, fsync and verify every image of one shard, then commit its part.

    `order`: every shard's name in index order (a later shard's bytes win a shared path);
    `record`: the raw file's, when the caller has it already.
    """
    stale = remove_stale_image_temps(paths, shard.name)
    record = record or RawRecord.of(raw)
    progress = Progress(shard.name, log, total=2 * record.rows, unit="row passes")

    def check_batch(batch) -> list:
        first, names, blobs, labels = batch
        out = []
        for offset, (hub_name, data, hub_label) in enumerate(zip(names, blobs, labels)):
            hub_name, data = hub_name or "", data or b""
            verdict = check_row(shard, hub_name, -1 if hub_label is None else int(hub_label), data)
            if isinstance(verdict, Rejected):
                out.append(Dropped(shard.name, first + offset, hub_name, *verdict))
            else:
                relative = paths.relative(paths.image(shard.split, verdict.synset, verdict.file_name))
                out.append((relative, verdict, len(data), hashlib.sha256(data).hexdigest()))
        return out

    rows: dict[str, list] = {name: [] for name in PART_SCHEMA.names}
    dropped: list[Dropped] = []
    writer_of: dict[str, int] = {}  # path -> the row that writes it (the last naming it)
    for outcomes in ordered_map(check_batch, iter_batches(raw, batch_rows), workers=workers,
                                size=lambda batch: _blob_bytes(batch[2]), max_bytes=IN_FLIGHT_BYTES):
        for outcome in outcomes:
            if isinstance(outcome, Dropped):
                dropped.append(outcome)
                continue
            relative, kept, size, digest = outcome
            writer_of[relative] = len(rows["path"])
            for name, value in zip(PART_SCHEMA.names, (shard.split, relative, kept.synset, kept.label,
                                                       kept.width, kept.height, size, digest)):
                rows[name].append(value)
        progress.advance(len(outcomes))
    if len(rows["path"]) + len(dropped) != record.rows:
        raise ShardExtractionError(f"{raw}: {record.rows:,} rows, but {len(rows['path']):,} kept + "
                                   f"{len(dropped):,} left out; the file changed while it was read")
    if record.rows and not rows["path"]:  # a shard of rows that keeps none: never an empty success
        reasons = Counter(d.reason for d in dropped)
        raise ShardExtractionError(
            f"{raw}: none of its {record.rows:,} rows was kept ("
            + ", ".join(f"{reason} {n:,}" for reason, n in sorted(reasons.items()))
            + f"; first: row {dropped[0].row}, {dropped[0].detail}); nothing was written")

    _publish_claims(paths, shard.name, writer_of)
    placer = _ImagePlacer(paths, shard.name, Claims(paths, order, shard.name, writer_of))
    writes = {row: path for path, row in writer_of.items()}
    dropped_rows = {d.row for d in dropped}
    numbered = _number_kept(iter_batches(raw, batch_rows), dropped_rows)
    for done in ordered_map(lambda job: _write_numbered(job, writes, rows["sha256"], placer), numbered,
                            workers=workers, size=lambda job: _blob_bytes(job[1]), max_bytes=IN_FLIGHT_BYTES):
        progress.advance(done)
    placer.sync()
    progress.finish()

    table = pa.table(rows, schema=PART_SCHEMA)
    part = Part(shard.name, table, record, dropped)
    problems = image_problems(paths, part, order, workers=workers)
    if problems:
        raise ShardExtractionError(f"{shard.name}: images differ from what was just written: "
                                   + "; ".join(problems) + "; check the disk under " + str(paths.root))
    write_part(paths.part(shard.name), part)
    return Extracted(part, placer.written, placer.present, placer.superseded, stale)


def _blob_bytes(blobs: list) -> int:
    """The image bytes a batch holds in memory (what ordered_map's byte budget counts)."""
    return sum(len(blob or b"") for blob in blobs)


def _number_kept(batches, dropped_rows: set[int]):
    """Each batch with the kept-row number of each of its images (None for a row left out)."""
    kept = 0
    for first, _, blobs, _ in batches:
        numbers = []
        for offset in range(len(blobs)):
            if first + offset in dropped_rows:
                numbers.append(None)
            else:
                numbers.append(kept)
                kept += 1
        yield numbers, blobs


def _write_numbered(job, writes: dict[int, str], digests: list[str], placer: _ImagePlacer) -> int:
    numbers, blobs = job
    for number, data in zip(numbers, blobs):
        if number is not None and number in writes:
            placer.place(writes[number], data, digests[number])
    return len(blobs)

