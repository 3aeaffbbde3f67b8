"""MM_RAW_FILES=release on OpenWebText: raw tars and cleaned texts go once what was made from them
is verified, the merged split leaves one copy of the tokens, reruns read nothing released, and the
checks still prove (and still fail on) the outputs."""

import shutil

import dagster as dg
import pytest

from mm_assets.common.released import RECORD_SUFFIX, read_release
from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.defs.owt.resources import OwtSource
from mm_assets.defs.shared.resources import ComputeResource, FairseqJudgeResource, StorageResource
from mm_assets.defs.tokenizer.resources import Gpt2BpeSource
from mm_assets_tests.helpers import check_results, materialize, run_checks

SLICE_ASSETS = dg.AssetSelection.assets("owt_raw_slice", "owt_clean_slice", "owt_binarized_slice")
PARTITIONS = ("00", "05")


def _build(tmp_path, owt_mirror, bpe_dir, raw_files, fairseq_python=None):
    """Slices 00 (train) and 05 (valid) from a private mirror, merged; returns the run helper."""
    mirror = tmp_path / f"mirror-{raw_files}"
    for number in (0, 5):
        (mirror / slice_hub_path(number)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(owt_mirror / slice_hub_path(number), mirror / slice_hub_path(number))
    instance = dg.DagsterInstance.ephemeral()
    resources = dict(storage=StorageResource(data_root=str(tmp_path / raw_files), raw_files=raw_files),
                     compute=ComputeResource(workers="2"),
                     owt_source=OwtSource(url=str(mirror), train_slices="0", valid_slices="5"),
                     gpt2_bpe_source=Gpt2BpeSource(url=str(bpe_dir)))
    # Without fairseq_python the judge reports "no such interpreter" at once (a failed check, not
    # an error): the e2e test below runs it for real.
    resources["judge"] = FairseqJudgeResource(python=fairseq_python or str(tmp_path / "no-python"))

    def run(selection, partition_key=None, **kwargs):
        return materialize(selection, partition_key=partition_key, instance=instance, **{**resources, **kwargs})

    run("gpt2_bpe")
    for partition in PARTITIONS:
        run(SLICE_ASSETS, partition)
    run("owt_fairseq_data")
    return run, instance, resources, mirror, tmp_path / raw_files / "owt"


def _bytes_by_kind(owt):
    files = [path for path in owt.rglob("*") if path.is_file()]
    records = [path for path in files if path.name.endswith(RECORD_SUFFIX)]
    files = [path for path in files if path not in records]
    return {
        "records": sum(path.stat().st_size for path in records),
        "bin": sum(path.stat().st_size for path in files if path.suffix == ".bin"),
        "raw": sum(path.stat().st_size for path in files if path.suffix == ".tar"),
        "clean": sum(path.stat().st_size for path in files if path.parent == owt / "clean"),
        "all": sum(path.stat().st_size for path in files + records),
    }


@pytest.fixture(scope="module")
def kept_build(tmp_path_factory, owt_mirror, bpe_dir):
    """The same chain with MM_RAW_FILES=keep, built once and only read: what release must equal."""
    return _build(tmp_path_factory.mktemp("keep"), owt_mirror, bpe_dir, "keep")


@pytest.fixture
def both(tmp_path, owt_mirror, bpe_dir, kept_build):
    return {"release": _build(tmp_path, owt_mirror, bpe_dir, "release"), "keep": kept_build}


def test_one_copy_of_the_tokens_and_no_raw_or_clean_text_left(both):
    *_, released = both["release"]
    *_, kept = both["keep"]
    for name in ("train.bin", "train.idx", "valid.bin", "valid.idx", "dict.txt"):  # the same data directory
        assert (released / "fairseq" / name).read_bytes() == (kept / "fairseq" / name).read_bytes()
    merged = sum((released / "fairseq" / f"{split}.bin").stat().st_size for split in ("train", "valid"))
    footprint, keep_footprint = _bytes_by_kind(released), _bytes_by_kind(kept)
    assert footprint["bin"] == merged and keep_footprint["bin"] == 2 * merged  # keep: slices + merged copy
    assert footprint["raw"] == 0 and footprint["clean"] == 0
    assert keep_footprint["raw"] > 0 and keep_footprint["clean"] > 0
    assert keep_footprint["all"] - footprint["all"] == \
        merged + keep_footprint["raw"] + keep_footprint["clean"] - footprint["records"]
    assert footprint["records"] < 10_000
    record = read_release(released / "clean" / "slice00.txt")
    assert record.size == (kept / "clean" / "slice00.txt").stat().st_size and record.facts["lines"] > 0


def test_a_rerun_reads_nothing_released_and_the_checks_pass(both):
    run, instance, resources, mirror, owt = both["release"]
    shutil.rmtree(mirror)  # the source is gone: a rerun that needed it would fail
    for partition in PARTITIONS:
        result = run(SLICE_ASSETS, partition)
        raw = result.asset_materializations_for_node("owt_raw_slice")[0].metadata
        assert raw["released"].value and raw["reused_existing_file"].value
        assert "kept" in result.asset_materializations_for_node("owt_clean_slice")[0].metadata["state"].value
        assert check_results(result)["one_sequence_per_clean_line"].passed
    merged = run("owt_fairseq_data").asset_materializations_for_node("owt_fairseq_data")[0].metadata
    assert merged["state"].value == "kept: already merged as asked"


def test_a_damaged_merged_split_fails_the_slice_check_and_is_made_again(both):
    run, instance, resources, mirror, owt = both["release"]
    *_, kept = both["keep"]
    train = owt / "fairseq" / "train.bin"
    data = bytearray(train.read_bytes())
    data[len(data) // 2] ^= 0xFF
    train.write_bytes(bytes(data))
    check = check_results(run_checks("owt_binarized_slice", partition_key="00", instance=instance,
                                     **resources))["one_sequence_per_clean_line"]
    assert not check.passed and "sha256 recorded when the slice was released" in check.metadata["problems"].value

    refused = run(SLICE_ASSETS, "00", raise_on_error=False)
    message = "\n".join(str(event.event_specific_data.error) for event in refused.all_events if event.is_failure)
    assert "materialize owt_raw_slice, owt_clean_slice and owt_binarized_slice for partition 00 again" in message
    run(SLICE_ASSETS, "00")  # the raw slice is fetched again (the mirror still has it), and so on
    run("owt_fairseq_data")
    assert train.read_bytes() == (kept / "fairseq" / "train.bin").read_bytes()


def test_new_split_settings_copy_released_slices_back_out(both):
    run, instance, resources, mirror, owt = both["release"]
    *_, kept = both["keep"]
    swapped = OwtSource(url=str(mirror), train_slices="5", valid_slices="0")
    result = run("owt_fairseq_data", owt_source=swapped)
    assert result.asset_materializations_for_node("owt_fairseq_data")[0].metadata["state"].value == "merged"
    assert (owt / "fairseq" / "train.bin").read_bytes() == (kept / "fairseq" / "valid.bin").read_bytes()
    assert (owt / "fairseq" / "valid.bin").read_bytes() == (kept / "fairseq" / "train.bin").read_bytes()
    assert _bytes_by_kind(owt)["bin"] == (owt / "fairseq" / "train.bin").stat().st_size + \
        (owt / "fairseq" / "valid.bin").stat().st_size


@pytest.mark.e2e
def test_the_judge_passes_on_released_texts_and_fails_on_damage(tmp_path, owt_mirror, bpe_dir, fairseq_python):
    run, instance, resources, mirror, owt = _build(tmp_path, owt_mirror, bpe_dir, "release", fairseq_python)
    assert check_results(run_checks("owt_fairseq_data", instance=instance, **resources))["fairseq_reads_data_dir"].passed
    valid = owt / "fairseq" / "valid.bin"
    data = bytearray(valid.read_bytes())
    data[7] ^= 0x01
    valid.write_bytes(bytes(data))
    check = check_results(run_checks("owt_fairseq_data", instance=instance, **resources))["fairseq_reads_data_dir"]
    assert not check.passed and "slice 05" in check.metadata["problems"].value
