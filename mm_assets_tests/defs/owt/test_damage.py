"""A damaged input never poisons a slice: bad raw files are refused or fetched again, and damaged
outputs fail their checks (never pass, never crash) with the asset to materialize again."""

import os
import shutil

import dagster as dg
import pytest

from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.defs.owt.resources import OwtSource
from mm_assets.defs.shared.resources import ComputeResource, FairseqJudgeResource, StorageResource
from mm_assets.defs.tokenizer.resources import Gpt2BpeSource
from mm_assets_tests.helpers import check_results, materialize, run_checks

SLICE_ASSETS = dg.AssetSelection.assets("owt_raw_slice", "owt_clean_slice", "owt_binarized_slice")


@pytest.fixture
def chain(tmp_path, owt_mirror, bpe_dir):
    """A private mirror (slices 00, 05) and the chain materialized in process on one instance, raw
    files kept (MM_RAW_FILES=keep: these tests damage them; test_release.py covers releasing)."""
    mirror = tmp_path / "mirror"
    for number in (0, 5):
        (mirror / slice_hub_path(number)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(owt_mirror / slice_hub_path(number), mirror / slice_hub_path(number))
    instance = dg.DagsterInstance.ephemeral()
    resources = dict(storage=StorageResource(data_root=str(tmp_path / "data"), raw_files="keep"),
                     compute=ComputeResource(workers="2"),
                     owt_source=OwtSource(url=str(mirror), train_slices="0", valid_slices="5"),
                     gpt2_bpe_source=Gpt2BpeSource(url=str(bpe_dir)))

    def run(selection, partition_key=None, **kwargs):
        return materialize(selection, partition_key=partition_key, instance=instance, **{**resources, **kwargs})

    run("gpt2_bpe")
    for partition in ("00", "05"):
        run(SLICE_ASSETS, partition)
    return {"run": run, "instance": instance, "resources": resources, "mirror": mirror,
            "data": tmp_path / "data", "owt": tmp_path / "data" / "owt"}


def _failure_message(result) -> str:
    return "\n".join(str(event.event_specific_data.error) for event in result.all_events if event.is_failure)


def test_truncated_bin_fails_the_slice_check_and_names_the_fix(chain):
    os.truncate(chain["owt"] / "binarized" / "slice05.bin", 1000)
    result = run_checks("owt_binarized_slice", partition_key="05", instance=chain["instance"], **chain["resources"])
    check = check_results(result)["one_sequence_per_clean_line"]
    assert check.passed is False
    problems = check.metadata["problems"].value
    assert "slice05.bin: 1,000 bytes" in problems and "does not match" in problems
    assert "materialize owt_binarized_slice for partition 05 again" in problems


def test_merge_of_a_damaged_slice_says_which_asset_to_materialize_again(chain):
    os.truncate(chain["owt"] / "binarized" / "slice00.bin", 999)
    result = chain["run"]("owt_fairseq_data", raise_on_error=False)
    message = _failure_message(result)
    assert "binarized slice 00" in message and "does not match" in message
    assert "Materialize owt_binarized_slice for partition 00 again" in message
    assert not (chain["owt"] / "fairseq" / "train.bin").exists()


@pytest.mark.e2e
def test_the_judge_reports_a_truncated_bin_as_a_failed_check(chain, fairseq_python):
    chain["run"]("owt_fairseq_data", judge=FairseqJudgeResource(python=fairseq_python))
    os.truncate(chain["owt"] / "fairseq" / "train.bin", 5000)
    result = run_checks("owt_fairseq_data", instance=chain["instance"],
                        **{**chain["resources"], "judge": FairseqJudgeResource(python=fairseq_python)})
    assert result.success  # the check ran to the end: it reports, it does not crash
    check = check_results(result)["fairseq_reads_data_dir"]
    assert check.passed is False
    assert "train.bin: 5,000 bytes" in check.metadata["problems"].value
    assert "materialize owt_fairseq_data again" in check.metadata["problems"].value


def test_truncated_slice_at_the_source_is_refused_then_a_plain_rerun_after_the_fix_works(chain, owt_mirror):
    source = chain["mirror"] / slice_hub_path(0)
    good = source.read_bytes()
    source.write_bytes(good[: len(good) // 2])  # the mirror's copy is cut short
    dest = chain["owt"] / "raw" / slice_hub_path(0)
    dest.unlink()
    result = chain["run"]("owt_raw_slice", "00", raise_on_error=False)
    message = _failure_message(result)
    assert "urlsf_subset00.tar" in message and "truncated" in message
    assert "the next run fetches it again" in message
    assert not dest.exists() and not list(dest.parent.glob(".*"))  # no partial, temp or lock left
    source.write_bytes(good)  # fixed at the source
    result = chain["run"]("owt_raw_slice", "00")  # a plain rerun: no config
    assert dest.read_bytes() == good
    verified = result.asset_materializations_for_node("owt_raw_slice")[0].metadata["verified"].value
    assert "end-of-archive marker" in verified and ".xz members framed soundly" in verified


@pytest.mark.parametrize("damage", ["truncated", "html", "empty", "random"])
def test_a_bad_raw_file_kept_by_an_earlier_version_is_verified_and_fetched_again(chain, damage):
    dest = chain["owt"] / "raw" / slice_hub_path(5)
    good = dest.read_bytes()
    dest.write_bytes({"truncated": good[:-3000], "html": b"<!DOCTYPE html><html>429 Too Many Requests</html>",
                      "empty": b"", "random": os.urandom(20000)}[damage])
    result = chain["run"]("owt_raw_slice", "05")
    assert dest.read_bytes() == good
    metadata = result.asset_materializations_for_node("owt_raw_slice")[0].metadata
    assert metadata["reused_existing_file"].value is False


def test_a_sound_kept_raw_file_is_verified_again_and_reused(chain):
    result = chain["run"]("owt_raw_slice", "05")
    metadata = result.asset_materializations_for_node("owt_raw_slice")[0].metadata
    assert metadata["reused_existing_file"].value is True
    assert "sha256 = expected_sha256 (recorded by the last materialization)" in metadata["verified"].value


def test_a_corrupt_block_found_when_cleaning_removes_the_raw_file_for_refetching(chain):
    raw = chain["owt"] / "raw" / slice_hub_path(0)
    data = bytearray(raw.read_bytes())
    member = data.index(b"\xfd7zXZ\x00", 2048)  # inside the first .xz member's stream
    for i in range(member + 60, member + 90):  # its framing stays sound, its block does not
        data[i] ^= 0x5A
    raw.write_bytes(bytes(data))
    result = chain["run"]("owt_clean_slice", "00", raise_on_error=False)
    message = _failure_message(result)
    assert "the raw slice is damaged" in message and "materialize owt_raw_slice for partition 00 again" in message
    assert not raw.exists()
    chain["run"](SLICE_ASSETS, "00")  # a plain rerun fetches it again and goes on
    assert (chain["owt"] / "clean" / "slice00.txt").stat().st_size > 0
