"""One shard at a time: the part it commits, the images verified against it, a killed shard's
leftovers, and two shards that name the same file (the later shard's bytes, in any run order)."""

import hashlib
import shutil
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.common.released import covering_release, release
from mm_assets.datasets.imagenet.extract import (
    RawRecord,
    ShardExtractionError,
    extract_shard,
    image_problems,
    read_part,
    remove_stale_image_temps,
)
from mm_assets.datasets.imagenet.index import merge_index
from mm_assets.datasets.imagenet.paths import ImagenetPaths
from mm_assets.datasets.imagenet.synsets import parse_image_name
from mm_assets_tests.datasets.imagenet.raw_shards import install_raw_shards

TRAIN = ("train-00000-of-00002", "train-00001-of-00002")


def _prepare(mirror, root):
    shards, paths = install_raw_shards(mirror, root)
    return shards, paths, [s.name for s in shards.shards]


def _extract(shards, paths, order, name, workers=2):
    shard = shards.by_name()[name]
    return extract_shard(shard, paths.raw_shard(name), paths, order, workers=workers)


def test_a_part_records_the_raw_file_and_each_image(imagenet_mirror, tmp_path):
    shards, paths, order = _prepare(imagenet_mirror, tmp_path)
    done = _extract(shards, paths, order, TRAIN[0])
    part = read_part(paths.part(TRAIN[0]))
    raw = RawRecord.of(paths.raw_shard(TRAIN[0]))
    assert part.raw == raw and raw.rows == part.table.num_rows + len(part.dropped) == 10
    assert done.written == part.table.num_rows == 9 and (done.present, done.superseded) == (0, 0)
    for row in part.table.to_pylist():
        data = (paths.data_root / row["path"]).read_bytes()
        assert len(data) == row["size"]
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
    assert paths.claims(TRAIN[0]).read_text().splitlines() == sorted(part.table.column("path").to_pylist())
    assert image_problems(paths, part, order, workers=2) == []
    again = _extract(shards, paths, order, TRAIN[0])  # a rerun over intact images rewrites none
    assert (again.written, again.present) == (0, 9)


def test_a_damaged_or_missing_image_is_named(imagenet_mirror, tmp_path):
    shards, paths, order = _prepare(imagenet_mirror, tmp_path)
    part = _extract(shards, paths, order, TRAIN[1]).part
    first, second = part.table.column("path").to_pylist()[:2]
    damaged = bytearray((paths.data_root / first).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (paths.data_root / first).write_bytes(bytes(damaged))
    (paths.data_root / second).unlink()
    assert sorted(image_problems(paths, part, order, workers=2)) == sorted(
        [f"{first}: sha256 differs from the one the part records", f"{second}: missing"])
    redone = _extract(shards, paths, order, TRAIN[1])
    assert redone.written == 2 and image_problems(paths, redone.part, order, workers=1) == []


def test_a_killed_shards_temps_are_removed_and_other_shards_temps_are_not(tmp_path):
    paths = ImagenetPaths(tmp_path / "imagenet")
    folder = paths.split_dir("train") / "n01440764"
    folder.mkdir(parents=True)
    mine = folder / f".tmp-n01440764_1.JPEG.{TRAIN[0]}"
    theirs = folder / f".tmp-n01440764_2.JPEG.{TRAIN[1]}"
    for path in (mine, theirs, folder / "n01440764_3.JPEG"):
        path.write_bytes(b"x")
    assert remove_stale_image_temps(paths, TRAIN[0]) == 1
    assert not mine.exists() and theirs.exists() and (folder / "n01440764_3.JPEG").exists()


def test_a_released_raw_file_is_gone_and_the_part_still_proves_the_images(imagenet_mirror, tmp_path):
    shards, paths, order = _prepare(imagenet_mirror, tmp_path)
    _extract(shards, paths, order, TRAIN[0])
    raw = paths.raw_shard(TRAIN[0])
    part = read_part(paths.part(TRAIN[0]))
    release(raw, size=part.raw.size, sha256=part.raw.sha256, outputs=[paths.part(TRAIN[0])])
    assert not raw.exists() and covering_release(raw).sha256 == part.raw.sha256
    assert part.raw.rows == 10 and image_problems(paths, part, order, workers=1) == []


@pytest.fixture(scope="module")
def mirror_with_a_shared_name(imagenet_mirror, tmp_path_factory):
    """The mirror with one row of the second train shard renamed to a name the first shard has
    (same synset, so both rows are kept; different bytes)."""
    mirror = tmp_path_factory.mktemp("shared_name_mirror")
    shutil.copytree(imagenet_mirror, mirror, dirs_exist_ok=True)
    first, second = (mirror / "data" / f"{name}.parquet" for name in TRAIN)
    names_first = [image["path"] for image in pq.read_table(first).column("image").to_pylist()]
    table = pq.read_table(second)
    images = table.column("image").to_pylist()
    by_synset = {parse_image_name(name, "train").synset: name for name in names_first
                 if name != "n01751748_10137_n01751748.JPEG"}  # not the truncated one
    row = next(i for i, image in enumerate(images) if parse_image_name(image["path"], "train").synset in by_synset)
    shared = by_synset[parse_image_name(images[row]["path"], "train").synset]
    images[row]["path"] = shared
    pq.write_table(pa.table({"image": pa.array(images, table.schema.field("image").type),
                             "label": table.column("label")}), second)
    return mirror, parse_image_name(shared, "train"), images[row]["bytes"]


def _run(mirror, root, schedule):
    shards, paths, order = _prepare(mirror, root)
    schedule(lambda name: _extract(shards, paths, order, name, workers=1))
    _extract(shards, paths, order, "validation-00000-of-00001", workers=1)
    merge_index(shards, paths)
    return paths


def _in_order(names):
    return lambda extract: [extract(name) for name in names]


def _at_once(extract):
    threads = [threading.Thread(target=extract, args=(name,)) for name in reversed(TRAIN)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize("schedule", [_in_order(TRAIN), _in_order(reversed(TRAIN)), _at_once],
                         ids=["in_order", "reversed", "at_once"])
def test_a_name_two_shards_share_holds_the_later_shards_bytes_in_any_order(mirror_with_a_shared_name, tmp_path,
                                                                            schedule):
    mirror, shared, later_bytes = mirror_with_a_shared_name
    reference = _run(mirror, tmp_path / "reference", _in_order(TRAIN))
    paths = _run(mirror, tmp_path / "run", schedule)
    target = paths.image("train", shared.synset, shared.file_name)
    assert target.read_bytes() == later_bytes
    assert paths.index.read_bytes() == reference.index.read_bytes()
    index = pq.read_table(paths.index).column("path").to_pylist()
    assert index.count(paths.relative(target)) == 2  # both rows stay, as they always did: a check fails on it
    order = [*TRAIN, "validation-00000-of-00001"]
    for name in order:  # the earlier shard's row lost to a later claim: not damage
        assert image_problems(paths, read_part(paths.part(name)), order, workers=1) == []
    assert not list(target.parent.glob(".tmp-*"))


KILL_MID_SHARD = """
import os, signal, sys
from pathlib import Path
from mm_assets.datasets.imagenet import extract
from mm_assets.datasets.imagenet.paths import ImagenetPaths
from mm_assets.datasets.imagenet.shards import ShardList

root, name, order = Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
placed = 0
place = extract._ImagePlacer.place

def place_then_die(self, *args):
    global placed
    place(self, *args)
    placed += 1
    if placed == 3:  # mid-shard, images on disk, no part yet: as `kill -9` would leave it
        os.kill(os.getpid(), signal.SIGKILL)

extract._ImagePlacer.place = place_then_die
paths = ImagenetPaths(root / "imagenet")
shard = ShardList.load(root / "shards.json").by_name()[name]
extract.extract_shard(shard, paths.raw_shard(name), paths, order, workers=1)
"""


def test_a_shard_killed_mid_way_is_redone_alone(imagenet_mirror, tmp_path):
    import signal
    import subprocess
    import sys

    shards, paths, order = _prepare(imagenet_mirror, tmp_path)
    shards.save(tmp_path / "shards.json")
    for name in (TRAIN[0], order[2]):
        _extract(shards, paths, order, name)
    stamp = {path: (path.stat().st_ino, path.stat().st_mtime_ns)
             for path in [paths.part(TRAIN[0]), paths.part(order[2]), *paths.root.rglob("*.JPEG")]}
    killed = subprocess.run([sys.executable, "-c", KILL_MID_SHARD, str(tmp_path), TRAIN[1], ",".join(order)],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not paths.part(TRAIN[1]).exists()
    written = [p for p in paths.root.rglob("*.JPEG") if p not in stamp]
    assert len(written) == 3  # the killed shard's images so far
    leftover = written[0].parent / f".tmp-left-by-the-kill.JPEG.{TRAIN[1]}"
    leftover.write_bytes(b"half")  # what a kill between write and rename leaves

    redone = _extract(shards, paths, order, TRAIN[1])  # the rerun of that partition only
    assert (redone.present, redone.written, redone.stale_temps_removed) == (3, 7, 1)
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in stamp} == stamp  # others untouched
    assert image_problems(paths, redone.part, order, workers=1) == []
    assert not list(paths.root.rglob(".tmp-*"))


def test_a_shard_that_keeps_none_of_its_rows_fails_and_writes_nothing(imagenet_mirror, tmp_path):
    """Every label of a shard off by one: no image is kept, so the shard fails naming the file and
    the reason instead of committing an empty part."""
    shards, paths, order = _prepare(imagenet_mirror, tmp_path)
    raw = paths.raw_shard(TRAIN[0])
    table = pq.read_table(raw)
    labels = pa.array([(label + 1) % 1000 for label in table.column("label").to_pylist()], table.schema.field("label").type)
    pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", labels), raw)
    with pytest.raises(ShardExtractionError, match=rf"{TRAIN[0]}.*none of its 10 rows was kept \(label_disagrees"):
        _extract(shards, paths, order, TRAIN[0])
    assert not paths.part(TRAIN[0]).exists()
    assert not any(path.is_file() for path in (paths.data_root / "imagenet" / "train").rglob("*"))
