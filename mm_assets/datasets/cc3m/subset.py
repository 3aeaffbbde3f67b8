"""The subset: the first N rows, by row id, whose image is cached and valid.

Shards are taken in order, 00000, 00001, ...; the subset draws on the shortest run of them that
holds N valid rows (a shard counts only when cached from this index, with its shard size and the
current image rules). Valid: the shard index says `ok`, and the bytes are not a placeholder by
repetition (served for at least `repeats` distinct URLs among the shards drawn on) nor bytes
learned from a placeholder (reached through a placeholder redirect or known hash) in those
shards. That decision is taken over the shards drawn on as a whole, after they are all cached,
so it depends neither on the order they were fetched in nor on shards cached beyond them.

Memory, at 3.3 M index rows and N = 500,000: the shard tables are streamed twice, one shard at a
time. The first pass keeps only the fetched rows' sha256, URL and status (what the placeholder
decision needs: about N rows) and decides nothing until the shards drawn on hold N `ok` rows,
since no decision can find N valid rows among fewer; from there the decision is taken over the
shards drawn on (a further shard only where placeholders took the count below N). The second
pass takes the first N valid rows and counts what was dropped before the last one. So memory
grows with N (the subset itself), not with the index or the number of shards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.atomic import atomic_write
from mm_assets.common.counts import Tally
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


_DECIDE = ["sha256", "url", "status"]  # what the placeholder decision reads of a shard


def select_subset(paths: Cc3mPaths, *, size: int, repeats: int, rules: ImageRules) -> Subset:
    """The first `size` valid rows of the index's shards cached under `rules`, taken in order."""
    info = read_index_info(paths.index)
    shards = shard_keys(info.lines, info.shard_size)
    drawn: list[str] = []
    fetched: list[pa.Table] = []  # per shard drawn on: its rows with bytes (sha256, url, status)
    rows_seen = ok_rows = 0
    stale = None
    for shard in shards:
        found = complete_shard_identity(paths, shard)
        if found is None:
            break
        if found != shard_identity(shard, read_shard(paths.index, shard), rules):
            stale = shard  # cached from another index, shard size or image rules: not this one's
            break
        part = pq.read_table(paths.shard_index(shard), columns=_DECIDE)
        drawn.append(shard)
        rows_seen += part.num_rows
        ok_rows += pc.sum(pc.equal(part["status"], OK)).as_py() or 0
        fetched.append(part.filter(pc.is_valid(part["sha256"])))
        if ok_rows < size:
            continue  # even with no placeholder these shards hold too few: nothing to decide yet
        verdict = _verdict(fetched, repeats)
        if _valid_count(fetched, verdict) >= size:
            return _subset(paths, drawn, verdict, size)
    have = _valid_count(fetched, _verdict(fetched, repeats)) if fetched else 0
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


def _verdict(fetched: list[pa.Table], repeats: int) -> PlaceholderVerdict:
    """The placeholder decision over the fetched rows of every shard drawn on, as a whole."""
    table = pa.concat_tables(fetched)
    return placeholder_hashes(
        pa.table({"sha256": table["sha256"], "url": table["url"],
                  "placeholder": pc.equal(table["status"], PLACEHOLDER)}), repeats=repeats)


def _valid(table: pa.Table, verdict: PlaceholderVerdict) -> pa.Array:
    bad = pa.array(sorted(verdict.hashes), pa.string())
    ok = pc.equal(table["status"], OK)
    return pc.and_(ok, pc.invert(pc.fill_null(pc.is_in(table["sha256"], value_set=bad), False)))


def _valid_count(fetched: list[pa.Table], verdict: PlaceholderVerdict) -> int:
    return sum(pc.sum(_valid(part, verdict)).as_py() or 0 for part in fetched)


def _subset(paths: Cc3mPaths, drawn: list[str], verdict: PlaceholderVerdict, size: int) -> Subset:
    """The first `size` valid rows of `drawn`, read again shard by shard, and what was dropped
    before the last of them."""
    bad = verdict.hashes
    dropped = Tally()
    chosen: list[pa.Table] = []
    used: list[str] = []
    wanted = size
    for shard in drawn:
        part = pq.read_table(paths.shard_index(shard), columns=_READ)
        taken = part.filter(_valid(part, verdict)).slice(0, wanted)
        considered = part
        if taken.num_rows == wanted:  # the last row wanted is in this shard: nothing after it counts
            considered = part.filter(pc.less_equal(part["row_id"], taken["row_id"][-1].as_py()))
        for status, sha256, url in zip(*(considered[name].to_pylist() for name in ("status", "sha256", "url"))):
            if status != OK:
                dropped.add(f"dropped_{status}", example=url)
            elif sha256 in bad:
                dropped.add("dropped_placeholder_repeated"
                            if sha256 in verdict.repeated and sha256 not in verdict.learned
                            else "dropped_placeholder_learned", example=url)
        chosen.append(taken.append_column("shard", pa.array([shard] * taken.num_rows, pa.string())))
        used.append(shard)
        wanted -= taken.num_rows
        if wanted == 0:
            break
    table = pa.concat_tables(chosen)
    keys = pa.array([sample_key(row_id) for row_id in table["row_id"].to_pylist()], pa.string())
    subset = pa.table({
        "row_id": table["row_id"], "url": table["url"], "caption": table["caption"],
        "shard": table["shard"], "key": keys, "sha256": table["sha256"],
        "width": table["width"], "height": table["height"],
    }, schema=SUBSET_SCHEMA)
    return Subset(subset, used, verdict, dropped)


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
