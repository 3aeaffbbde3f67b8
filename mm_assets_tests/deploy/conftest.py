"""Fixtures of the deployment tests: a PostgreSQL cluster for the session and the native
production topology over it, with the sample's runs launched through GraphQL. Every process is
stopped in the fixtures' `finally`, also when a test or a start fails."""

import pytest

from mm_assets_tests.datasets.cc3m.served import served_sample

from .helpers import CC3M_SHARD, PARTITIONS
from .services import PostgresServer, find_postgres_bin
from .topology import Topology, dagster_home, instance_on, pipeline_env, run_errors

SLICE_ASSETS = ["owt_raw_slice", "owt_clean_slice", "owt_binarized_slice"]
CC3M_SHARD_SIZE = 40


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
def cc3m_served(tmp_path_factory):
    """The generated CC3M sample on a loopback server (the UI test crawls one shard of it)."""
    with served_sample(tmp_path_factory.mktemp("cc3m_served"), rows=60, slow_s=1.5) as served:
        yield served


@pytest.fixture(scope="session")
def topology(postgres, owt_mirror, bpe_dir, fairseq_python, coco_vg_mirror, cc3m_served, tmp_path_factory,
             deploy_logs):
    root = tmp_path_factory.mktemp("topology")
    home = dagster_home(root / "dagster_home")
    sources = {**coco_vg_mirror, "MM_CC3M_INDEX_URL": str(cc3m_served.index), "MM_HTTP_ALLOW_PRIVATE": "1",
               "MM_CC3M_SHARD_SIZE": str(CC3M_SHARD_SIZE), "MM_HTTP_TIMEOUT_S": "1"}
    env = pipeline_env(data_root=root / "data", home=home, owt_mirror=owt_mirror, bpe_dir=bpe_dir,
                       fairseq_python=fairseq_python, **sources, **postgres.create_database("mm_topology"))
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


PAIR_CHAIN = ["coco_train2014_zip", "coco_val2014_zip", "coco_annotations_zip", "coco_karpathy_zip", "coco_images",
              "vg_images_zip", "vg_images2_zip", "vg_regions_zip", "vg_images", "coco_pairs", "vg_pairs",
              "vg_concat_pairs", "pair_manifest", "pair_examples"]


@pytest.fixture(scope="session")
def picture_runs(topology, topology_runs):
    """After the OWT runs, the runs whose pages hold pictures: the image-text chain up to
    pair_examples, and the CC3M index then one shard's availability (a crawl of the loopback server)."""
    runs = {"cc3m_index": topology.launch(["cc3m_index"]), "pairs": topology.launch(PAIR_CHAIN)}
    _expect_success(topology, [runs["cc3m_index"]])
    runs["cc3m_availability"] = topology.launch(["cc3m_availability"], partition=CC3M_SHARD)
    _expect_success(topology, [runs["pairs"], runs["cc3m_availability"]])
    return runs
