"""Scale-out on an existing engine: with MM_EXECUTOR=celery every step is a task on a Redis broker,
run by a dagster-celery worker (docs/deployment.md). Debian's redis-server and one worker run
natively on loopback, over the PostgreSQL instance; two OWT partitions go through them and must
come out byte for byte as the default executor writes them."""

import os
import re
import shutil
import signal
import socket
import subprocess

import pytest

from mm_assets.common.data_root import MARKER_NAME
from mm_assets_tests.helpers import dagster_bin, run_materialize_cli

from .services import RedisServer, Service
from .topology import BIN, REPO, dagster_home, initialize_pools, instance_on, pipeline_env

REDIS = shutil.which("redis-server")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(REDIS is None, reason="Debian's redis-server is not installed (.ci/run installs it)"),
]

WORKER = "mm-test-worker"
SLICE_ASSETS = "owt_raw_slice,owt_clean_slice,owt_binarized_slice"
PARTITIONS = ["00", "05"]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(REDIS, tmp_path_factory.mktemp("redis"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def celery_runs(redis_server, postgres, owt_mirror, bpe_dir, fairseq_python, tmp_path_factory, deploy_logs):
    """One worker; gpt2_bpe, then partitions 00 and 05 at once, through the celery executor.

    Returns the data root, the environment, and the pids of the worker's processes (taken while
    it still runs)."""
    root = tmp_path_factory.mktemp("celery")
    home = dagster_home(root / "dagster_home")
    env = pipeline_env(
        data_root=root / "data", home=home, owt_mirror=owt_mirror, bpe_dir=bpe_dir, fairseq_python=fairseq_python,
        MM_EXECUTOR="celery", MM_CELERY_BROKER_URL=redis_server.url(0), MM_CELERY_BACKEND_URL=redis_server.url(1),
        **postgres.create_database("mm_celery"))
    worker = Service("celery worker", [
        str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
        "-y", str(REPO / "celery_worker.yaml"), "-n", WORKER], env=env, log_path=deploy_logs / "celery_worker.log",
        cwd=root)
    try:
        worker.start().wait_until(lambda: f"{WORKER}@" in worker.log_tail() and " ready." in worker.log_tail(),
                                  timeout=180, what="the worker ready on the broker")
        initialize_pools(env)  # as the compose file's init-pools service does: the two runs below
        run_materialize_cli(env, "--select", "gpt2_bpe")  # start together and would race to create one
        runs = [subprocess.Popen([dagster_bin(), "asset", "materialize", "-m", "mm_assets.definitions",
                                  "--select", SLICE_ASSETS, "--partition", partition], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
                for partition in PARTITIONS]
        try:
            outputs = [run.communicate(timeout=900)[0] for run in runs]
        finally:  # a timeout or an error above: no CLI run (nor its step processes) outlives the test
            for run in runs:
                if run.poll() is None:
                    os.killpg(run.pid, signal.SIGKILL)
                    run.wait()
        for run, output in zip(runs, outputs):
            assert run.returncode == 0, output[-6000:] + "\n--- worker\n" + worker.log_tail()
        pids = {process.pid for process in worker.tree()}
        yield root / "data", env, home, pids, worker
    finally:
        worker.stop()


def test_every_step_ran_in_the_worker(celery_runs):
    import dagster as dg

    _, env, home, worker_pids, worker = celery_runs
    worker_name = f"{WORKER}@{socket.gethostname()}"
    with instance_on(home, env) as instance:
        runs = instance.get_runs()
        assert sorted(run.tags.get("dagster/partition", "-") for run in runs) == ["-", *PARTITIONS]
        steps: list[str] = []
        for run in runs:
            records = [r for r in instance.all_logs(run.run_id) if r.dagster_event]
            started = {r.dagster_event.step_key: r.dagster_event.pid for r in records
                       if r.dagster_event.event_type == dg.DagsterEventType.STEP_START}
            delegated = {r.dagster_event.step_key: r.dagster_event.engine_event_data.metadata["Celery worker"].value
                         for r in records if r.dagster_event.event_type == dg.DagsterEventType.ENGINE_EVENT
                         and "in celery worker" in (r.dagster_event.message or "")}
            succeeded = {r.dagster_event.step_key for r in records
                         if r.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS}
            assert started and set(delegated) == set(started) == succeeded, run.run_id
            assert set(delegated.values()) == {worker_name}
            # the step's own events came from the worker's processes, not from the CLI that ran the run
            assert set(started.values()) <= worker_pids, (started, worker_pids)
            steps += started
        # gpt2_bpe once; the three slice assets and the slice check once per partition
        slice_steps = set(steps) - {"gpt2_bpe"}
        assert {"owt_raw_slice", "owt_clean_slice", "owt_binarized_slice"} < slice_steps
        assert any("one_sequence_per_clean_line" in step for step in slice_steps)
        assert sorted(steps) == sorted(["gpt2_bpe", *slice_steps, *slice_steps])
    # and the worker's own log: one task per step, each succeeded
    assert len(re.findall(r"Task execute_plan\[[0-9a-f-]+\] succeeded in", worker.log_tail(10**7))) == len(steps)


def test_outputs_equal_those_of_the_default_executor(celery_runs, cli_run):
    data = celery_runs[0]
    reference, _ = cli_run
    assert (data / MARKER_NAME).is_file()  # each data root's own marker (a random id): not compared
    files = sorted(p.relative_to(data) for p in data.rglob("*") if p.is_file() and p.name != MARKER_NAME)
    expected = {f"owt/{kind}/{name}" for p in PARTITIONS for kind, name in [
        ("raw/subsets", f"urlsf_subset{p}.tar"), ("clean", f"slice{p}.txt"),
        ("binarized", f"slice{p}.bin"), ("binarized", f"slice{p}.idx")]}
    assert expected <= {str(f) for f in files}
    assert [f for f in files if not str(f).startswith(("owt/", "gpt2_bpe/"))] == []
    for relative in files:
        assert (data / relative).read_bytes() == (reference / relative).read_bytes(), relative
