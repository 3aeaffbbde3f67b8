"""The recheck schedule as the daemon runs it: a real `dagster-daemon` evaluates a tick of
`cc3m_availability_recheck` (cron every minute here), launches one run per registered shard, and
each run adds a dated availability snapshot next to the one `cc3m_availability` made before."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets_tests.datasets.cc3m.served import served_sample
from mm_assets_tests.helpers import run_materialize_cli

pytestmark = pytest.mark.e2e
SHARD_SIZE = 20
SHARDS = ["00000", "00001"]
SCHEDULE = "cc3m_availability_recheck"


def test_the_daemon_ticks_the_schedule_and_its_runs_add_snapshots(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with served_sample(tmp_path, 2 * SHARD_SIZE, seed=31) as served:
        env = {**os.environ, "MM_DATA_ROOT": str(tmp_path / "data"), "DAGSTER_HOME": str(home),
               "MM_CC3M_INDEX_URL": str(served.index), "MM_CC3M_SHARD_SIZE": str(SHARD_SIZE),
               "MM_HTTP_ALLOW_PRIVATE": "1", "MM_HTTP_TIMEOUT_S": "0.5", "MM_CC3M_RECHECK_CRON": "* * * * *"}
        run_materialize_cli(env, "--select", "cc3m_index")  # registers the shards
        run_materialize_cli(env, "--select", "cc3m_availability", "--partition", SHARDS[0])  # a first snapshot
        paths = Cc3mPaths(tmp_path / "data" / "cc3m")
        [earlier] = paths.snapshots_of(SHARDS[0]).glob("*.parquet")
        earlier_bytes = earlier.read_bytes()
        with open(tmp_path / "daemon.log", "wb") as daemon_log:
            daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run",
                                       "-m", "mm_assets.definitions"], env=env, cwd=tmp_path,
                                      stdout=daemon_log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            runs = _wait_for_schedule_runs(home, len(SHARDS), timeout_s=240)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
    log = (tmp_path / "daemon.log").read_text(errors="replace")[-3000:]
    assert sorted(run.tags["dagster/partition"] for run in runs) == SHARDS, log
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), log
    assert earlier.read_bytes() == earlier_bytes  # nothing overwritten: a new dated snapshot beside it
    for shard in SHARDS:
        made = [path for path in paths.snapshots_of(shard).glob("*.parquet") if path != earlier]
        assert made and all(pq.read_table(path).num_rows == SHARD_SIZE for path in made), shard


def _wait_for_schedule_runs(home: Path, count: int, timeout_s: float) -> list:
    """The runs the schedule asked for, once `count` of them have finished."""
    deadline = time.monotonic() + timeout_s
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            runs = [run for run in instance.get_runs() if run.tags.get("dagster/schedule_name") == SCHEDULE]
            first_tick = [run for run in runs if run.tags["cc3m/recheck"] == min(r.tags["cc3m/recheck"] for r in runs)]
            if len(first_tick) >= count and all(run.is_finished for run in first_tick):
                return first_tick  # (a later tick, a minute on, may have begun meanwhile)
            time.sleep(2)
    raise AssertionError(f"no {count} finished runs of {SCHEDULE} within {timeout_s:g} s")
