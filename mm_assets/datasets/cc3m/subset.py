"""The subset: the first N rows, by row id, whose image is cached and valid.

Shards are taken in order, 00000, 00001, ...; the subset draws on the shortest run of them that
holds N valid rows (a shard counts only when cached from this index, with its shard size and the
current image rules). Valid: the shard index says `ok`, and the bytes are not a placeholder by
repetition (served for at least `repeats` distinct URLs among the shards drawn on) nor bytes
learned from a placeholder (reached through a placeholder redirect or known hash) in those
shards. That decision is taken over the shards drawn on as a whole, after they are all cached,
so it depends neither on the order they were fetched in nor on shards cached beyond them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.counts import Tally
from mm_assets.common.atomic import atomic_write
from mm_assets.datasets.cc3m.image_cache import complete_shard_identity, shard_identity
from mm_assets.datasets.cc3m.index import read_index_info, read_shard
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import PLACEHOLDER, ImageRules
from mm_assets.datasets.cc3m.shards import shard_keys
from mm_assets.fetch.outcomes import OK
from mm_assets.formats.parquet import write_parquet
from mm_assets.formats.webdataset import sample_key
from mm_assets.images.placeholders import PlaceholderVerdict, placeholder_hashes

SUBSET_SCHEMA = pa.schema([
    ("row_id", pa.int64()), ("url", pa.string()), ("caption", pa.string()), ("shard", pa.string()),
    ("key", pa.string()), ("sha256", pa.string()), ("width", pa.int32()), ("height", pa.int32()),
])
_READ = ["row_id", "url", "caption", "sha256", "width", "height", "status"]


class NotEnoughImages(Exception):
    def __init__(self, message: str, *, have: int, more_shards: int | None) -> None:
        super().__init__(message)
        self.have, self.more_shards = have, more_shards


@dataclass(frozen=True)
class Subset:
    table: pa.Table  # SUBSET_SCHEMA, N rows by row id
    shards: list[str]  # drawn on
    verdict: PlaceholderVerdict
    dropped: Tally = field(default_factory=Tally)  # rows up to the last one used, by reason

    @property
    def highest_row_id(self) -> int:
        return self.table["row_id"][-1].as_py()


def select_subset(paths: Cc3mPaths, *, size: int, repeats: int, rules: ImageRules) -> Subset:
    """The first `size` valid rows of the index's shards cached under `rules`, taken in order."""
    info = read_index_info(paths.index)
    shards = shard_keys(info.lines, info.shard_size)
    drawn: list[str] = []
    parts: list[pa.Table] = []
    rows_seen = 0
    stale = None
    for shard in shards:
        found = complete_shard_identity(paths, shard)
        if found is None:
            break
        if found != shard_identity(shard, read_shard(paths.index, shard), rules):
            stale = shard  # cached from another index, shard size or image rules: not this one's
            break
        part = pq.read_table(paths.shard_index(shard), columns=_READ)
        parts.append(part.append_column("shard", pa.array([shard] * part.num_rows, pa.string())))
        drawn.append(shard)
        rows_seen += part.num_rows
        table = pa.concat_tables(parts)
        verdict = _verdict(table, repeats)
        valid = _valid(table, verdict)
        if (pc.sum(valid).as_py() or 0) >= size:
            return _subset(table, valid, verdict, drawn, size)
    table = pa.concat_tables(parts) if parts else None
    have = int(pc.sum(_valid(table, _verdict(table, repeats))).as_py() or 0) if table is not None else 0
    missing = _first_missing(shards, drawn)
    more = None
    if have and rows_seen:
        per_row = have / rows_seen
        shard_rows = max(1, rows_seen // max(1, len(drawn)))
        more = math.ceil((size - have) / per_row / shard_rows)
    if stale:
        where = (f"shard {stale} was cached under other settings (index, shard size or image rules): "
                 "materialize cc3m_image_cache for it again")
    elif missing:
        where = f"shard {missing} is not cached (materialize cc3m_image_cache for it)"
    else:
        where = "every shard of the index is cached"
    estimate = (f"about {more} more shard(s) at this rate of {100 * have / rows_seen:.1f} % valid rows"
                if more is not None else "no valid rows yet to estimate from")
    raise NotEnoughImages(
        f"the cached shards {_span(drawn)} hold {have:,} valid images, {size:,} are wanted "
        f"(MM_CC3M_SUBSET_SIZE): {estimate}; {where}", have=have, more_shards=more)


def _verdict(table: pa.Table, repeats: int) -> PlaceholderVerdict:
    fetched = table.filter(pc.is_valid(table["sha256"]))
    return placeholder_hashes(
        pa.table({"sha256": fetched["sha256"], "url": fetched["url"],
                  "placeholder": pc.equal(fetched["status"], PLACEHOLDER)}), repeats=repeats)


def _valid(table: pa.Table, verdict: PlaceholderVerdict) -> pa.Array:
    bad = pa.array(sorted(verdict.hashes), pa.string())
    ok = pc.equal(table["status"], OK)
    return pc.and_(ok, pc.invert(pc.fill_null(pc.is_in(table["sha256"], value_set=bad), False)))


def _subset(table: pa.Table, valid: pa.Array, verdict: PlaceholderVerdict, drawn: list[str], size: int) -> Subset:
    chosen = table.filter(valid).slice(0, size)
    last = chosen["row_id"][-1].as_py()
    considered = table.filter(pc.less_equal(table["row_id"], last))
    dropped = Tally()
    bad = verdict.hashes
    for status, sha256, url in zip(*(considered[name].to_pylist() for name in ("status", "sha256", "url"))):
        if status != OK:
            dropped.add(f"dropped_{status}", example=url)
        elif sha256 in bad:
            dropped.add("dropped_placeholder_repeated" if sha256 in verdict.repeated and sha256 not in verdict.learned
                        else "dropped_placeholder_learned", example=url)
    keys = pa.array([sample_key(row_id) for row_id in chosen["row_id"].to_pylist()], pa.string())
    subset = pa.table({
        "row_id": chosen["row_id"], "url": chosen["url"], "caption": chosen["caption"],
        "shard": chosen["shard"], "key": keys, "sha256": chosen["sha256"],
        "width": chosen["width"], "height": chosen["height"],
    }, schema=SUBSET_SCHEMA)
    used = sorted(set(subset["shard"].to_pylist()))
    return Subset(subset, [shard for shard in drawn if shard <= used[-1]], verdict, dropped)


def _first_missing(shards: list[str], drawn: list[str]) -> str | None:
    rest = shards[len(drawn):]
    return rest[0] if rest else None


def _span(shards: list[str]) -> str:
    if not shards:
        return "(none)"
    return shards[0] if len(shards) == 1 else f"{shards[0]}..{shards[-1]}"


def write_subset(subset: Subset, paths: Cc3mPaths) -> None:
    """`subset.parquet` and `subset_ids_urls.tsv` (row_id TAB url, with a header), atomically."""
    write_parquet(subset.table, paths.subset, compression="zstd")
    with atomic_write(paths.subset_ids_urls) as handle:
        handle.write(b"row_id\turl\n")
        for row_id, url in zip(subset.table["row_id"].to_pylist(), subset.table["url"].to_pylist()):
            handle.write(f"{row_id}\t{url}\n".encode("utf-8"))
