"""A step killed mid-way leaves no half-written output, and running it again gives the same bytes."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mm_assets.common.atomic import remove_stale_temps
from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.samples.owt.mirror import generate_mirror
from mm_assets.text.binarize import binarize_text

pytestmark = pytest.mark.e2e

SCRIPT = textwrap.dedent("""
    import sys
    from mm_assets.datasets.owt.clean import clean_slice
    from mm_assets.text.binarize import binarize_text
    def log(message):
        print(message, flush=True)
    if __name__ == "__main__":
        step, source, target, bpe = sys.argv[1:5]
        if step == "clean":
            clean_slice(source, target, workers=2, log=log, progress_interval=0)
        else:
            binarize_text(source, target, bpe, workers=2, block_bytes=16384, log=log, progress_interval=0)
""")


def _kill_after_progress(args, tmp_path) -> None:
    script = tmp_path / "step.py"
    script.write_text(SCRIPT)
    process = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    seen = 0
    for _line in process.stdout:
        seen += 1
        if seen == 3:  # well inside the step: several progress reports, not finished
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the step ended before it could be killed"


@pytest.fixture(scope="module")
def big_slice(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill_mirror")
    (path,) = generate_mirror(root, [2], bytes_per_slice=6_000_000, docs_per_member=20)
    return path


def test_killed_clean_then_rerun_gives_identical_bytes(big_slice, tmp_path):
    expected = tmp_path / "expected.txt"
    clean_slice(big_slice, expected, workers=1)
    target = tmp_path / "out" / "clean.txt"
    _kill_after_progress(["clean", str(big_slice), str(target), ""], tmp_path)
    assert not target.exists()  # only a temp file may be left
    (target.parent / ".tmp-other.txt.abc").write_bytes(b"another partition's work")
    assert remove_stale_temps(target) == 1
    assert (target.parent / ".tmp-other.txt.abc").exists()
    clean_slice(big_slice, target, workers=2)
    assert target.read_bytes() == expected.read_bytes()


def test_killed_binarize_keeps_old_output_then_rerun_gives_identical_bytes(big_slice, bpe_dir, tmp_path):
    text = tmp_path / "clean.txt"
    clean_slice(big_slice, text, workers=2)
    binarize_text(text, tmp_path / "expected", bpe_dir, workers=1)
    prefix = tmp_path / "out" / "slice"
    prefix.parent.mkdir()
    for ext in (".bin", ".idx"):  # an older materialization sits where outputs go
        prefix.with_suffix(ext).write_bytes(b"old " + ext.encode())
    _kill_after_progress(["binarize", str(text), str(prefix), str(bpe_dir)], tmp_path)
    assert prefix.with_suffix(".bin").read_bytes() == b"old .bin"
    assert prefix.with_suffix(".idx").read_bytes() == b"old .idx"
    binarize_text(text, prefix, bpe_dir, workers=2)
    for ext in (".bin", ".idx"):
        assert prefix.with_suffix(ext).read_bytes() == (tmp_path / f"expected{ext}").read_bytes()

