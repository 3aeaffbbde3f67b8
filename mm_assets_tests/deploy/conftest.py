"""Fixtures of the deployment tests: a PostgreSQL cluster for the session and the native
production topology over it, with the sample's runs launched through GraphQL. Every process is
stopped in the fixtures' `finally`, also when a test or a start fails."""

import pytest

from .services import PostgresServer, find_postgres_bin
from .topology import Topology, dagster_home, instance_on, pipeline_env, run_errors

SLICE_ASSETS = ["owt_raw_slice", "owt_clean_slice", "owt_binarized_slice"]
PARTITIONS = ["00", "01", "05"]


@pytest.fixture(scope="session")
def deploy_logs(tmp_path_factory):
    return tmp_path_factory.mktemp("deploy_logs")


@pytest.fixture(scope="session")
def postgres(deploy_logs):
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, postgres) not found: install postgresql-15 (.ci/run does) "
                    "or set MM_TEST_PG_BIN to their folder")
    server = PostgresServer(bin_dir, deploy_logs)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def topology(postgres, owt_mirror, bpe_dir, fairseq_python, tmp_path_factory, deploy_logs):
    root = tmp_path_factory.mktemp("topology")
    home = dagster_home(root / "dagster_home")
    env = pipeline_env(data_root=root / "data", home=home, owt_mirror=owt_mirror, bpe_dir=bpe_dir,
                       fairseq_python=fairseq_python, **postgres.create_database("mm_topology"))
    topology = Topology(home, env, deploy_logs / "topology")
    try:
        topology.start()
        yield topology
    finally:
        topology.stop()


@pytest.fixture(scope="session")
def topology_runs(topology):
    """The sample through the queue: gpt2_bpe, then three slice partitions at once, then the data
    directory with its checks. Returns run ids by what they materialized."""
    runs = {"gpt2_bpe": topology.launch(["gpt2_bpe"])}
    _expect_success(topology, [runs["gpt2_bpe"]])
    for partition in PARTITIONS:
        runs[partition] = topology.launch(SLICE_ASSETS, partition=partition)
    _expect_success(topology, [runs[p] for p in PARTITIONS])
    runs["owt_fairseq_data"] = topology.launch(["owt_fairseq_data"])
    _expect_success(topology, [runs["owt_fairseq_data"]])
    return runs


def _expect_success(topology, run_ids):
    statuses = topology.wait_for(run_ids)
    failed = [run_id for run_id, status in statuses.items() if status != "SUCCESS"]
    if failed:
        with instance_on(topology.home, topology.env) as instance:
            pytest.fail("runs did not succeed: " + "\n".join(
                f"{run_id} {statuses[run_id]}:\n{run_errors(instance, run_id)}" for run_id in failed))
