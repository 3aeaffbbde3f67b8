"""A reference run that hangs (as fairseq's Pool teardown can) is killed with its children and
run again; one that fails says so; one that hangs every time gives up."""

import subprocess
import sys

import pytest

from mm_assets.judge.recipe import ReferenceHung, run_reference

# Hangs (in a grandchild too) on its first run, succeeds on the next.
HANGS_ONCE = """
import os, pathlib, subprocess, sys, time
marker = pathlib.Path(sys.argv[1])
if not marker.exists():
    marker.write_text("ran")
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(60)
print("done", file=sys.stderr)
"""


def test_a_hung_run_is_killed_with_its_children_and_run_again(tmp_path):
    marker = tmp_path / "marker"
    stderr = run_reference([sys.executable, "-c", HANGS_ONCE, str(marker)], timeout_s=1)
    assert "done" in stderr
    leftover = subprocess.run(["pgrep", "-f", "import time; time.sleep(60)"], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""  # the grandchild went with its group


def test_a_failing_run_raises_and_one_that_always_hangs_gives_up(tmp_path):
    with pytest.raises(subprocess.CalledProcessError):
        run_reference([sys.executable, "-c", "import sys; sys.exit(3)"], timeout_s=30)
    with pytest.raises(ReferenceHung):
        run_reference([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=0.3, attempts=2)
