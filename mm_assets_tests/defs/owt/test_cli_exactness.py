"""The OWT chain, driven by the Dagster CLI as CI drives it, against the fairseq recipe run for real.

The reference is fairseq's own `examples/roberta/multiprocessing_bpe_encoder.py` then
`fairseq-preprocess --only-source --srcdict dict.txt --dataset-impl mmap`, on the cleaned text.
"""

import pytest

from mm_assets.datasets.owt.paths import DATA_DIR_FILES
from mm_assets.judge.recipe import run_recipe
from mm_assets.text.binarize import binarize_text

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def recipe_dir(cli_run, bpe_dir, fairseq_python, tmp_path_factory):
    data, _ = cli_run
    clean = data / "owt" / "clean"
    out = tmp_path_factory.mktemp("recipe")
    run_recipe([clean / "slice00.txt", clean / "slice01.txt"], [clean / "slice05.txt"], bpe_dir,
               out / "data", out / "work", workers=2, fairseq_python=fairseq_python)
    return out / "data"


@pytest.mark.parametrize("name", DATA_DIR_FILES)
def test_data_directory_is_byte_identical_to_fairseq_recipe(cli_run, recipe_dir, name):
    data, _ = cli_run
    ours = (data / "owt" / "fairseq" / name).read_bytes()
    assert ours == (recipe_dir / name).read_bytes()


def test_asset_checks_ran_and_passed(cli_run):
    _, log = cli_run
    assert "Asset check 'fairseq_reads_data_dir' on 'owt_fairseq_data' passed" in log
    assert log.count("Asset check 'one_sequence_per_clean_line' on 'owt_binarized_slice' passed") == 3


def test_edge_cases_reached_the_output(cli_run):
    data, _ = cli_run
    text = (data / "owt" / "clean" / "slice00.txt").read_text(encoding="utf-8")
    for needle in ["<|endoftext|>", "👨‍👩‍👧‍👦", "Old Mac", "NUL in the middle of a line", "\u0558's", "a\x0bb"]:
        assert needle in text
    assert "\r" not in text and "\x00" not in text and "\n\n" not in text


def test_concurrency_and_block_size_do_not_change_bytes(cli_run, bpe_dir, tmp_path):
    data, _ = cli_run
    text = data / "owt" / "clean" / "slice01.txt"
    reference = data / "owt" / "binarized" / "slice01"
    binarize_text(text, tmp_path / "one", bpe_dir, workers=1, block_bytes=1000)
    binarize_text(text, tmp_path / "two", bpe_dir, workers=2, block_bytes=64 * 1024)
    for ext in (".bin", ".idx"):
        expected = reference.with_suffix(ext).read_bytes()
        assert (tmp_path / f"one{ext}").read_bytes() == expected
        assert (tmp_path / f"two{ext}").read_bytes() == expected
