"""Shared fixtures: the verified GPT-2 BPE files, fairseq's interpreter, generated OWT mirrors."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _bpe_source() -> Path:
    env = os.environ.get("MM_TEST_GPT2_BPE")
    if env and Path(env).is_dir():
        return Path(env)
    return REPO.parent / "shared" / "gpt2_bpe"


@pytest.fixture(scope="session")
def bpe_dir(tmp_path_factory) -> Path:
    """The three BPE files, fetched through the project's own verified fetch."""
    from mm_assets.core.gpt2_bpe import fetch_gpt2_bpe

    source = _bpe_source()
    if not (source / "encoder.json").is_file():
        pytest.fail(f"GPT-2 BPE files not found at {source}: set MM_TEST_GPT2_BPE to a folder with them")
    dest = tmp_path_factory.mktemp("gpt2_bpe")
    fetch_gpt2_bpe(str(source), dest)
    return dest


@pytest.fixture(scope="session")
def fairseq_python() -> str:
    python = os.environ.get("MM_FAIRSEQ_PYTHON") or str(REPO / ".venv-fairseq" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"{python} missing: `make venv-fairseq` builds the reference environment")
    return python


@pytest.fixture(scope="session")
def owt_mirror(tmp_path_factory) -> Path:
    """A three-slice mirror in the real nested layout, with every edge case in each slice."""
    from mm_assets.samples.owt_mirror import generate_mirror

    root = tmp_path_factory.mktemp("owt_mirror")
    generate_mirror(root, [0, 1, 5], bytes_per_slice=400_000, docs_per_member=25)
    return root


def dagster_bin() -> str:
    return str(Path(sys.executable).parent / "dagster")
