"""The full-size rehearsal's own measuring and modelling (`benchmarks/full_size.py`).

Its figures go into the docs as the pipeline's memory and disk plan; these tests guard the parts a
wrong figure would come from: a step's peak RSS must be its own (not the benchmark's, inherited
through fork), the data root's peak must catch a file that is gone by the end, and the full-size
model must keep a fixed cost fixed.
"""

import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import full_size  # noqa: E402
from full_size_sources import build_imagenet, scaled  # noqa: E402

MIB = 2**20


def test_a_step_s_peak_rss_is_its_own_not_the_benchmark_s(tmp_path):
    held = bytearray(300 * MIB)  # the benchmark process is large (Dagster loaded): touch every page
    for i in range(0, len(held), 4096):
        held[i] = 1
    small = full_size.invoke([sys.executable, "-c", "pass"], {}, tmp_path / "small.log")
    large = full_size.invoke([sys.executable, "-c", "b = bytearray(200 * 2**20); b[::4096] = b'1' * len(b[::4096])"],
                             {}, tmp_path / "large.log")
    assert small.rc == large.rc == 0
    assert small.maxrss < 100 * MIB, small
    assert large.maxrss >= 200 * MIB, large
    assert len(held) == 300 * MIB


def test_a_failing_step_s_exit_status_is_reported(tmp_path):
    result = full_size.invoke([sys.executable, "-c", "raise SystemExit(3)"], {}, tmp_path / "fail.log")
    assert result.rc == 3


def test_the_data_root_peak_catches_a_file_removed_before_the_end(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "kept").write_bytes(b"k" * 100_000)
    with full_size.DiskPeak(root, interval=0.05) as disk:
        temporary = root / "sub" / "temporary"
        temporary.parent.mkdir()
        temporary.write_bytes(b"t" * 5_000_000)
        deadline = time.monotonic() + 60
        while disk.peak < 5_000_000 and time.monotonic() < deadline:  # until the sampler has seen it
            time.sleep(0.05)
        temporary.unlink()
    assert disk.peak >= 5_100_000
    assert full_size.allocated_bytes(root) < 1_000_000


def test_the_model_keeps_a_fixed_cost_fixed_and_scales_the_rest():
    # 10 s fixed + 1,000 s per unit of input: measured at 1/1000 and 1/100
    assert full_size.extrapolate([(0.001, 11.0), (0.01, 20.0)]) == (pytest.approx(1010.0), False)
    assert full_size.extrapolate([(0.01, 20.0), (0.001, 11.0)]) == (pytest.approx(1010.0), False)  # any order
    # one fraction, or noise larger than the growth: proportional, marked as an upper bound
    assert full_size.extrapolate([(0.01, 5.0)]) == (pytest.approx(500.0), True)
    assert full_size.extrapolate([(0.001, 30.0), (0.01, 20.0)]) == (pytest.approx(2000.0), True)


def test_memory_is_flat_flat_from_where_a_unit_of_work_is_full_or_growing():
    fractions = [0.001, 0.01, 0.02]
    assert full_size.rss_trend([400, 410, 420], fractions) == "flat"
    # a shard smaller than the real one at 1/1000, the real size from 1/100 on
    assert full_size.rss_trend([448, 584, 593], fractions) == "flat from 0.01 (x1.3 from 0.001)"
    assert full_size.rss_trend([300, 450, 700], fractions) == "grows x2.3"


def test_dynamic_partitions_take_the_real_count_and_serial_steps_do_not_speed_up():
    shards = full_size.AssetFigures("cc3m_image_cache", "cc3m_shards", partitions=4, step_s=100.0, cpu_s=180.0)
    one = full_size.AssetFigures("cc3m_image_cache", "cc3m_shards", partitions=1, step_s=10.0, cpu_s=18.0)
    full = full_size.full_size([(0.001, one), (0.01, shards)])
    assert full["partitions"] == full_size.REAL_PARTITIONS["cc3m_shards"]
    assert full["split"] and full["time16"] < full["time2"]
    serial = full_size.AssetFigures("coco_pairs", None, partitions=1, step_s=100.0, cpu_s=100.0)
    full = full_size.full_size([(0.01, serial)])
    assert not full["split"] and full["time16"] == full["time2"] == pytest.approx(10_000.0)


def test_owt_partitions_are_the_slices_the_settings_choose():
    from mm_assets.defs.owt.partitions import owt_slices

    node = SimpleNamespace(partitions_def=owt_slices)
    keys = full_size.partitions_to_run(node, None, {"MM_OWT_TRAIN_SLICES": "0-4", "MM_OWT_VALID_SLICES": "5"})
    assert keys == ["00", "01", "02", "03", "04", "05"]


def test_the_imagenet_source_has_the_hub_s_layout_at_the_fraction(tmp_path, monkeypatch):
    import full_size_sources
    import pyarrow.parquet as pq

    monkeypatch.setattr(full_size_sources, "POOL_IMAGES", 4)  # the layout, not the pool, is under test
    fraction = 0.0001
    source = build_imagenet(tmp_path, fraction)
    files = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert files == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet",
                     "validation-00000-of-00001.parquet"]
    train = pq.read_table(tmp_path / "data" / files[1])
    assert train.num_rows == scaled(1_281_167, fraction)
    assert train.schema.field("image").type.names == ["bytes", "path"]
    assert source.settings == {"MM_IMAGENET_URL": str(tmp_path)}
