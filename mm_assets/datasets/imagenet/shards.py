"""ImageNet's parquet shards: their names, where their list comes from, and the list kept on disk.

The hub repository holds `data/{train,validation,test}-NNNNN-of-MMMMM.parquet` (columns `image`
{`bytes`, `path`} and `label`). On the hub the list comes from the hub's API, with each shard's
size and sha256; in a local mirror, from the folder. A listing must be whole: every split used
present, and shards 0..M-1 of each, or nothing is registered (a cut-off listing would otherwise
silently lose images). The test split has no labels and no place in the `ImageFolder` layout:
it is listed but not used.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from mm_assets.common.atomic import atomic_write
from mm_assets.fetch.http import FetchPolicy
from mm_assets.fetch.hub import HubRepo, list_hub_folder, parse_resolve_url
from mm_assets.fetch.sources import is_remote, local_path
from mm_assets.formats.parquet_check import HUB_IMAGE, INTEGER, parquet_verifier
from mm_assets.formats.shape import check_parquet_shape

DATA_FOLDER = "data"
SHARD_NAME = re.compile(r"^(?P<split>train|validation|test)-(?P<index>\d{5})-of-(?P<count>\d{5})\.parquet$")
# hub split -> the ImageFolder split it becomes
USED_SPLITS = {"train": "train", "validation": "val"}
UNUSED_SPLITS = ("test",)
SHARD_COLUMNS = {"image": HUB_IMAGE, "label": INTEGER}
verify_shard = parquet_verifier(SHARD_COLUMNS)


def check_shard_shape(path: str | Path) -> None:
    """Before any row of a shard is read: `ShapeError` naming the file unless it has the columns."""
    check_parquet_shape(path, SHARD_COLUMNS)


class ShardListError(ValueError):
    pass


@dataclass(frozen=True)
class Shard:
    name: str  # the file stem, also the partition key: train-00000-of-00294
    hub_split: str  # train, validation
    size: int | None  # bytes, when the source says
    sha256: str | None  # when the hub says (LFS)

    @property
    def hub_path(self) -> str:
        return f"{DATA_FOLDER}/{self.name}.parquet"

    @property
    def split(self) -> str:
        """train or val."""
        return USED_SPLITS[self.hub_split]


@dataclass(frozen=True)
class ShardList:
    source: str
    shards: tuple[Shard, ...]  # the used splits' shards, train first, by index
    unused: dict[str, int]  # split -> shards listed but not used

    def by_name(self) -> dict[str, Shard]:
        return {shard.name: shard for shard in self.shards}

    def save(self, path: Path) -> None:
        payload = {"source": self.source, "unused": self.unused, "shards": [asdict(s) for s in self.shards]}
        with atomic_write(path, "w") as handle:
            json.dump(payload, handle, indent=1)

    @classmethod
    def load(cls, path: Path) -> "ShardList":
        payload = json.loads(path.read_text())
        return cls(payload["source"], tuple(Shard(**s) for s in payload["shards"]), payload["unused"])


def listed_files(source: str, *, policy: FetchPolicy = FetchPolicy(), token_set: bool = False
                 ) -> list[tuple[str, int | None, str | None]]:
    """(file name, size, sha256) of every file in the source's `data/` folder."""
    if is_remote(source):
        repo = hub_repo(source)
        return [(f.path.rsplit("/", 1)[-1], f.size, f.sha256)
                for f in list_hub_folder(repo, DATA_FOLDER, policy=policy, token_set=token_set)]
    folder = local_path(source) / DATA_FOLDER
    if not folder.is_dir():
        raise ShardListError(f"{folder}: no such folder; a mirror holds data/<split>-NNNNN-of-MMMMM.parquet")
    return [(p.name, p.stat().st_size, None) for p in sorted(folder.iterdir()) if p.is_file()]


def hub_repo(source: str) -> HubRepo:
    repo = parse_resolve_url(source)
    if repo is None:
        raise ShardListError(
            f"{source}: a remote ImageNet source must be the hub's resolve URL "
            "(https://huggingface.co/datasets/<org>/<name>/resolve/<revision>), whose API lists the "
            "shards; or give a local folder laid out like the repository")
    return repo


def shard_list(source: str, files: list[tuple[str, int | None, str | None]]) -> ShardList:
    """The used shards of a listing, after checking that every split used is whole."""
    found: dict[str, dict[int, Shard]] = {}
    counts: dict[str, set[int]] = {}
    for name, size, sha256 in files:
        match = SHARD_NAME.match(name)
        if match is None:
            continue
        split = match["split"]
        found.setdefault(split, {})[int(match["index"])] = Shard(name.removesuffix(".parquet"), split, size, sha256)
        counts.setdefault(split, set()).add(int(match["count"]))
    for split in USED_SPLITS:
        if split not in found:
            raise ShardListError(f"{source}: no {split} shards listed (data/{split}-NNNNN-of-MMMMM.parquet)")
        totals = counts[split]
        if len(totals) != 1:
            raise ShardListError(f"{source}: {split} shards disagree on their count: {sorted(totals)}")
        total = totals.pop()
        missing = sorted(set(range(total)) - set(found[split]))
        if missing or len(found[split]) != total:
            raise ShardListError(
                f"{source}: {split} has {len(found[split])} of its {total} shards; missing "
                f"{', '.join(f'{i:05d}' for i in missing[:10])}{' ...' if len(missing) > 10 else ''}")
    shards = tuple(found[split][i] for split in USED_SPLITS for i in sorted(found[split]))
    unused = {split: len(found.get(split, {})) for split in UNUSED_SPLITS}
    return ShardList(source, shards, unused)
