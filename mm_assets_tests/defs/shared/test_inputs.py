"""A missing input fails the step at once, in one message shape, whoever finds it missing."""

import pickle

import dagster as dg
import pytest

from mm_assets.common.missing import MissingInputError, missing_input_message
from mm_assets.defs.shared.inputs import gpt2_bpe_files, inputs_required, missing_input, missing_input_check
from mm_assets.layout import DataLayout


def test_the_message_names_the_paths_the_asset_and_the_partition(tmp_path):
    assert missing_input_message(tmp_path / "a.zip", "a_zip") == f"{tmp_path / 'a.zip'} is missing: materialize a_zip first"
    assert missing_input_message([tmp_path / "x", tmp_path / "y"], "glue_raw", partition="rte", detail="why") == (
        f"{tmp_path / 'x'}, {tmp_path / 'y'} are missing: materialize glue_raw for partition rte first (why)")
    assert missing_input_message("s.idx", "owt_binarized_slice", partition=["01", "07"]).endswith(
        "materialize owt_binarized_slice for partitions 01, 07 first")


def test_the_failure_is_not_retried_and_says_the_same_as_the_library(tmp_path):
    failure = missing_input(tmp_path / "index.parquet", "cc3m_index")
    assert isinstance(failure, dg.Failure) and not failure.allow_retries
    assert failure.description == str(MissingInputError(tmp_path / "index.parquet", "cc3m_index"))
    with pytest.raises(dg.Failure) as raised, inputs_required():
        raise MissingInputError(tmp_path / "t.parquet", "vg_pairs", "p")
    assert raised.value.description == missing_input(tmp_path / "t.parquet", "vg_pairs", partition="p").description
    assert not raised.value.allow_retries
    check = missing_input_check(tmp_path / "t.parquet", "vg_pairs")
    assert not check.passed and check.metadata["problems"].value == str(MissingInputError(tmp_path / "t.parquet",
                                                                                           "vg_pairs"))


def test_the_error_is_a_file_not_found_error_and_survives_pickling(tmp_path):
    error = MissingInputError(tmp_path / "m", "pair_manifest", "1", "d")
    assert isinstance(error, FileNotFoundError)
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.asset, again.partition) == (str(error), "pair_manifest", "1")


def test_missing_bpe_files_fail_naming_gpt2_bpe(tmp_path):
    with pytest.raises(dg.Failure, match="encoder.json is missing: materialize gpt2_bpe first"):
        gpt2_bpe_files(DataLayout(tmp_path))
