"""VG pairs on the sample mirror: counts, file order, drops; truncated input; bounded memory."""

import json
import tracemalloc

import pyarrow.parquet as pq
import pytest

from mm_assets.common.counts import Tally
from mm_assets.datasets.pairs.validate import check_pairs_table
from mm_assets.datasets.vg.concat import JOINER
from mm_assets.datasets.vg.pairs import build_vg_concat_pairs, build_vg_pairs
from mm_assets.datasets.vg.regions import SeenIds, iter_image_regions
from mm_assets.datasets.vg.upstream import REGIONS_JSON, REGIONS_ZIP
from mm_assets.formats.json_stream import JsonFormatError
from mm_assets.formats.zip import write_zip
from mm_assets.samples.vg.mirror import SAMPLE_EXPECTED
from mm_assets.text.captions import clean_caption
from mm_assets_tests.helpers import install_coco_vg


@pytest.fixture(scope="module")
def layout(coco_vg_mirror, tmp_path_factory):
    return install_coco_vg(coco_vg_mirror, tmp_path_factory.mktemp("data"))


def _regions(layout):
    import zipfile
    with zipfile.ZipFile(layout.vg.raw(REGIONS_ZIP)) as archive:
        return json.loads(archive.read(REGIONS_JSON))


def test_one_pair_per_kept_region_in_file_order(layout, caption_encoder):
    built = build_vg_pairs(layout.vg, caption_encoder, workers=2)
    table = pq.read_table(layout.vg.pairs)
    assert table.num_rows == SAMPLE_EXPECTED["pairs"] and built.table.stats["vg"].images == SAMPLE_EXPECTED["images"]
    for key, count in SAMPLE_EXPECTED.items():
        if key.startswith(("dropped_", "captions_with_")):
            assert built.drops[key] == count, key
    assert built.table.counts["truncated_captions"] == SAMPLE_EXPECTED["truncated_captions"]
    # An independent reading of the file: the kept phrases, in file order, cleaned by the rule.
    on_disk = {path.name.split(".")[0] for path in layout.vg.images_dir.glob("*/*.jpg")}
    seen, expected = set(), []
    for entry in _regions(layout):
        for region in entry["regions"]:
            if region["region_id"] in seen or region["image_id"] != entry["id"]:
                continue
            seen.add(region["region_id"])
            text = clean_caption(region["phrase"])
            if str(entry["id"]) in on_disk and text:
                expected.append((entry["id"], text))
    assert list(zip(table.column("image_id").to_pylist(), table.column("caption").to_pylist())) == expected
    assert "Red Car" in table.column("caption").to_pylist()  # casing kept
    assert check_pairs_table(layout.vg.pairs).problems.total() == 0


def test_concat_keeps_every_unique_phrase(layout, caption_encoder):
    built = build_vg_concat_pairs(layout.vg, caption_encoder, workers=2)
    table = pq.read_table(layout.vg.concat_pairs)
    assert set(table.column("source").to_pylist()) == {"vg_concat"}
    assert built.drops["dropped_duplicate_phrase"] >= 2 and built.drops["dropped_empty_caption"] == 2
    texts = table.column("caption").to_pylist()
    joined = [p for text in texts for p in text.split(JOINER)]
    assert built.table.counts["phrases_joined"] == SAMPLE_EXPECTED["pairs"] - built.drops["dropped_duplicate_phrase"]
    assert "white clouds" in joined and joined.count("white clouds") == 1
    assert max(table.column("n_tokens").to_pylist()) <= 64
    assert built.table.counts["single_phrases_truncated"] == 1
    # The 40-phrase image: several texts, which together hold its unique phrases in file order.
    if not layout.vg.pairs.is_file():
        build_vg_pairs(layout.vg, caption_encoder, workers=2)
    single = pq.read_table(layout.vg.pairs)
    per_image: dict[int, list[str]] = {}
    for image_id, caption in zip(single.column("image_id").to_pylist(), single.column("caption").to_pylist()):
        per_image.setdefault(image_id, []).append(caption)
    crowded = max(per_image, key=lambda image_id: len(per_image[image_id]))
    assert len(per_image[crowded]) >= 40
    crowded_texts = [t for t, i in zip(texts, table.column("image_id").to_pylist()) if i == crowded]
    assert len(crowded_texts) >= 2
    assert JOINER.join(crowded_texts) == JOINER.join(dict.fromkeys(per_image[crowded]))
    assert check_pairs_table(layout.vg.concat_pairs).problems.total() == 0


def test_a_truncated_region_file_fails_naming_it_and_writes_nothing(layout, caption_encoder, tmp_path):
    import shutil

    from mm_assets.datasets.vg.paths import VgPaths

    paths = VgPaths(tmp_path / "vg")
    shutil.copytree(layout.vg.images_dir, paths.images_dir)
    data = json.dumps(_regions(layout)).encode("ascii")
    write_zip(paths.raw(REGIONS_ZIP), [(REGIONS_JSON, data[: len(data) * 2 // 3])])
    with pytest.raises(JsonFormatError, match="region_descriptions.json in region_descriptions.json.zip"):
        build_vg_pairs(paths, caption_encoder, workers=2)
    assert not paths.pairs.exists() and not list(paths.root.glob(".tmp-*"))


def test_seen_ids_matches_a_set():
    ids, reference = SeenIds(), set()
    for group in [[5, 7, 5], [0, 1 << 31, -4], [123_456_789, 7], [1 << 31, 3, 0, 3, -4], []]:
        expected = []
        for value in group:
            expected.append(value in reference)
            reference.add(value)
        assert ids.add_many(group).tolist() == expected


def _peak_memory_reading(tmp_path, images_count):
    entries = [{"regions": [{"region_id": i * 100 + j, "width": 3, "height": 4, "image_id": i,
                             "phrase": f"a phrase number {j} of image {i}", "y": 1, "x": 2} for j in range(40)],
                "id": i} for i in range(images_count)]
    data = json.dumps(entries).encode()
    path = write_zip(tmp_path / f"{images_count}.zip", [(REGIONS_JSON, data)])
    del entries
    images = {i: f"vg/images/VG_100K/{i}.jpg" for i in range(images_count)}
    tracemalloc.start()
    count = sum(len(entry.phrases) for entry in iter_image_regions(path, images, Tally()))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 40 * images_count
    return peak, len(data)


@pytest.mark.e2e
def test_the_region_file_is_streamed_in_bounded_memory(tmp_path):
    small_peak, small_size = _peak_memory_reading(tmp_path, 1000)
    large_peak, large_size = _peak_memory_reading(tmp_path, 5000)
    # Five times the file, the same memory (read buffers, one image): nothing grows with the input.
    assert large_peak < 1.25 * small_peak + 200_000, (small_peak, large_peak)
    assert large_peak < large_size / 2


def test_the_same_bytes_whatever_the_workers_and_batches(layout, caption_encoder, monkeypatch):
    import mm_assets.datasets.pairs.table as table
    import mm_assets.datasets.vg.pairs as vg_pairs

    outputs = []
    for workers, batch_rows in ((1, table.ENCODE_BATCH_ROWS), (3, 16)):  # then many small batches in flight
        monkeypatch.setattr(table, "ENCODE_BATCH_ROWS", batch_rows)
        monkeypatch.setattr(vg_pairs, "ENCODE_BATCH_ROWS", batch_rows)
        concat = build_vg_concat_pairs(layout.vg, caption_encoder, workers=workers)
        regions = build_vg_pairs(layout.vg, caption_encoder, workers=workers)
        outputs.append((layout.vg.concat_pairs.read_bytes(), layout.vg.pairs.read_bytes()))
    assert outputs[0] == outputs[1]
    assert concat.table.rows > 16 and regions.table.rows > 16


def _vg_copy(layout, tmp_path, regions_json: bytes, with_images: bool = True):
    import shutil

    from mm_assets.datasets.vg.paths import VgPaths

    paths = VgPaths(tmp_path / "vg")
    if with_images:
        shutil.copytree(layout.vg.images_dir, paths.images_dir)
    else:
        for folder in ("VG_100K", "VG_100K_2"):
            (paths.images_dir / folder).mkdir(parents=True)
    write_zip(paths.raw(REGIONS_ZIP), [(REGIONS_JSON, regions_json)])
    return paths


@pytest.mark.parametrize("build", [build_vg_pairs, build_vg_concat_pairs])
def test_a_region_file_of_another_shape_fails_naming_it_and_writes_nothing(layout, caption_encoder, tmp_path, build):
    from mm_assets.formats.shape import ShapeError

    paths = _vg_copy(layout, tmp_path, json.dumps({"images": _regions(layout)}).encode())
    with pytest.raises(ShapeError, match="region_descriptions.json in region_descriptions.json.zip: the top "
                                         "level is an object, expected a list"):
        build(paths, caption_encoder, workers=2)
    assert not paths.pairs.exists() and not paths.concat_pairs.exists()


@pytest.mark.parametrize("build", [build_vg_pairs, build_vg_concat_pairs])
def test_keeping_no_region_of_a_file_with_regions_fails(layout, caption_encoder, tmp_path, build):
    from mm_assets.formats.shape import NoRowsKeptError

    regions = _regions(layout)
    paths = _vg_copy(layout, tmp_path, json.dumps(regions).encode(), with_images=False)
    total = sum(len(entry["regions"]) for entry in regions)
    with pytest.raises(NoRowsKeptError, match=rf"region_descriptions.json in region_descriptions.json.zip: none of "
                                              rf"its {total:,} rows was kept \(dropped_missing_image"):
        build(paths, caption_encoder, workers=2)
    assert not paths.pairs.exists() and not paths.concat_pairs.exists()
    empty = _vg_copy(layout, tmp_path / "empty", b"[]")
    assert build(empty, caption_encoder, workers=2).table.rows == 0  # the file holds no region: an empty table
