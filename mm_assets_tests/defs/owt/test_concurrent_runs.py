"""One writer per output: a second run of the same partition fails at once, naming the run that
writes it, and never deletes that run's files."""

import os
import signal
import subprocess
import time

import pytest

from mm_assets.common.locks import exclusive_lock, is_locked, lock_path_for
from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.defs.owt.resources import OwtSource
from mm_assets.defs.shared.resources import ComputeResource, StorageResource
from mm_assets.samples.owt.mirror import generate_mirror
from mm_assets_tests.helpers import dagster_bin, materialize


def test_a_partition_being_written_fails_a_second_run_and_keeps_its_temp_file(tmp_path, owt_mirror):
    resources = dict(storage=StorageResource(data_root=str(tmp_path)), compute=ComputeResource(workers="1"),
                     owt_source=OwtSource(url=str(owt_mirror)))
    materialize("owt_raw_slice", partition_key="00", **resources)
    output = tmp_path / "owt" / "clean" / "slice00.txt"
    output.parent.mkdir(parents=True)
    their_temp = output.parent / ".tmp-slice00.txt.other-run"
    their_temp.write_bytes(b"half of another run's output")
    with exclusive_lock(lock_path_for(output), owner="run 0123abcd (pid 1 on host elsewhere)",
                        what="partition 00 of owt_clean_slice"):
        result = materialize("owt_clean_slice", partition_key="00", raise_on_error=False, **resources)
    assert not result.success
    error = next(str(e.event_specific_data.error) for e in result.all_events if e.is_failure)
    assert "partition 00 of owt_clean_slice is being written by run 0123abcd (pid 1 on host elsewhere)" in error
    assert their_temp.exists() and not output.exists()
    their_temp.unlink()  # that run "died": its temp is stale now, and the lock went with it
    materialize("owt_clean_slice", partition_key="00", **resources)
    assert output.stat().st_size > 0 and sorted(p.name for p in output.parent.iterdir()) == ["slice00.txt"]


@pytest.mark.e2e
def test_two_concurrent_cli_runs_of_one_partition(tmp_path):
    """Two CLI runs of owt_clean_slice 03, the second started while the first holds the partition
    (the first is stopped with SIGSTOP once its lock is taken, so the collision is certain): the
    second fails at once naming the first run, the first then finishes, the output is that of a
    single run, and no lock or temp file is left."""
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, [3], bytes_per_slice=4_000_000, docs_per_member=50)
    env = {**os.environ, "MM_DATA_ROOT": str(tmp_path / "data"), "MM_OWT_URL": str(mirror),
           "DAGSTER_HOME": str(tmp_path / "home"), "MM_WORKERS": "1"}
    (tmp_path / "home").mkdir()
    base = [dagster_bin(), "asset", "materialize", "-m", "mm_assets.definitions", "--partition", "03"]
    subprocess.run(base + ["--select", "owt_raw_slice"], env=env, check=True, capture_output=True)
    clean = tmp_path / "data" / "owt" / "clean"
    lock = lock_path_for(clean / "slice03.txt")
    first = subprocess.Popen(base + ["--select", "owt_clean_slice"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not is_locked(lock):
            assert first.poll() is None and time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.01)
        os.killpg(first.pid, signal.SIGSTOP)  # it holds the partition and goes nowhere
        second = subprocess.run(base + ["--select", "owt_clean_slice"], env=env, capture_output=True, text=True,
                                timeout=300)
        os.killpg(first.pid, signal.SIGCONT)
        first_output = first.communicate(timeout=300)[0]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    assert second.returncode != 0
    assert "partition 03 of owt_clean_slice is being written by run" in second.stdout + second.stderr
    assert first.returncode == 0, first_output[-3000:]
    expected = tmp_path / "expected.txt"
    clean_slice(mirror / "subsets" / "urlsf_subset03.tar", expected, workers=1)
    assert (clean / "slice03.txt").read_bytes() == expected.read_bytes()
    leftovers = [p.name for d in (clean, tmp_path / "data" / "owt" / "raw" / "subsets") for p in d.iterdir()
                 if p.name.startswith((".lock-", ".tmp-", ".partial-"))]
    assert leftovers == []

