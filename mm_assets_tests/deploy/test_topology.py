"""The production topology, natively (docs/deployment.md): PostgreSQL storage, the code server,
the daemon with the queued run coordinator, and the webserver; the sample's partitioned runs go in
through the GraphQL API and their metadata comes back out of PostgreSQL."""

import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from mm_assets.common.data_root import MARKER_NAME
from mm_assets.formats.fairseq_mmap import read_sizes

from .helpers import PARTITIONS
from .topology import BIN, LOCATION, REPO, graphql, instance_on

pytestmark = [
    pytest.mark.e2e,
    # DagsterGraphQLClient calls gql with arguments gql 4 deprecates; nothing this project can change
    pytest.mark.filterwarnings("ignore:Using variable_values and operation_name:DeprecationWarning"),
]

RECHECK_SCHEDULE = "cc3m_availability_recheck"


def _tokens(idx_path) -> int:
    return int(np.asarray(read_sizes(idx_path), dtype=np.int64).sum())


def test_runs_went_through_the_queue_and_the_daemon_started_them(topology, topology_runs):
    import dagster as dg

    with instance_on(topology.home, topology.env) as instance:
        for name, run_id in topology_runs.items():
            run = instance.get_run_by_id(run_id)
            assert run.status == dg.DagsterRunStatus.SUCCESS, name
            kinds = [r.dagster_event.event_type for r in instance.all_logs(run_id) if r.dagster_event]
            # queued by the webserver (QueuedRunCoordinator), then dequeued and launched by the daemon
            # (RUN_STARTING), then started by the run worker the code server spawned
            assert kinds.index(dg.DagsterEventType.RUN_ENQUEUED) < kinds.index(dg.DagsterEventType.RUN_STARTING) \
                < kinds.index(dg.DagsterEventType.RUN_START), name
        for partition in PARTITIONS:
            assert instance.get_run_by_id(topology_runs[partition]).tags["dagster/partition"] == partition


def test_token_counts_are_read_back_from_postgresql(topology, topology_runs, postgres):
    import dagster as dg
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    data = topology.home.parent / "data"
    with instance_on(topology.home, topology.env) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        for partition in PARTITIONS:
            records = instance.fetch_materializations(dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("owt_binarized_slice"), asset_partitions=[partition]), limit=1).records
            metadata = records[0].asset_materialization.metadata
            assert metadata["tokens"].value == _tokens(data / "owt" / "binarized" / f"slice{partition}.idx") > 0
        latest = instance.get_latest_materialization_event(dg.AssetKey("owt_fairseq_data"))
        metadata = latest.asset_materialization.metadata
        for split in ("train", "valid"):
            assert metadata[f"{split}_tokens"].value == _tokens(data / "owt" / "fairseq" / f"{split}.idx") > 0
        assert metadata["train_slices"].value == "00,01" and metadata["valid_slices"].value == "05"
        checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("owt_fairseq_data"), "fairseq_reads_data_dir")])
        assert [c.status.value for c in checks.values()] == ["SUCCEEDED"]
    # the same rows, seen with plain SQL in the database dagster.yaml names
    with postgres.connect(topology.env["DAGSTER_PG_DB"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT partition, count(*) FROM event_logs WHERE dagster_event_type = "
                       "'ASSET_MATERIALIZATION' AND asset_key = %s GROUP BY partition ORDER BY partition",
                       ['["owt_binarized_slice"]'])
        assert cursor.fetchall() == [(p, 1) for p in PARTITIONS]


def test_outputs_equal_those_of_the_cli_runs(topology, topology_runs, cli_run):
    """The deployment writes the very bytes `dagster asset materialize` writes (the default executor)."""
    reference, _ = cli_run
    data = topology.home.parent / "data"
    def outputs(root):  # each data root's own marker (a random id) is not an output
        return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.name != MARKER_NAME)

    files = outputs(reference)
    assert files and outputs(data) == files and (data / MARKER_NAME).is_file()
    for relative in files:
        assert (data / relative).read_bytes() == (reference / relative).read_bytes(), relative


def test_the_daemon_is_healthy(topology, topology_runs):
    statuses = {d["daemonType"]: d for d in topology.daemon_statuses()}
    required = [name for name, d in statuses.items() if d["required"]]
    assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING"} <= set(required)
    for name in required:
        assert statuses[name]["healthy"], (name, statuses[name]["lastHeartbeatErrors"])
        assert statuses[name]["lastHeartbeatErrors"] == [], name


def test_download_pools_are_limited_by_dagster_yaml(topology, topology_runs):
    """Every pool without a limit of its own (owt_download here) gets `pools.default_limit`, per step."""
    data = graphql(topology.url, """{ instance { poolConfig { poolGranularity defaultPoolLimit }
        concurrencyLimit(concurrencyKey: "owt_download") { slotCount } } }""")["instance"]
    assert data["poolConfig"] == {"poolGranularity": "op", "defaultPoolLimit": 2}
    assert data["concurrencyLimit"]["slotCount"] == 2
    # the three partition runs ran at once; their download steps never more than 2 at a time
    import dagster as dg

    with instance_on(topology.home, topology.env) as instance:
        edges = []
        for partition in PARTITIONS:
            for record in instance.all_logs(topology_runs[partition]):
                event = record.dagster_event
                if event and event.step_key == "owt_raw_slice" and event.event_type in (
                        dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS):
                    edges.append((record.timestamp, 1 if event.event_type == dg.DagsterEventType.STEP_START else -1))
    assert len(edges) == 2 * len(PARTITIONS)
    running = [sum(step for _, step in sorted(edges, key=lambda e: (e[0], e[1]))[:i + 1]) for i in range(len(edges))]
    assert max(running) <= 2


def test_the_cc3m_recheck_schedule_is_loaded_and_can_be_started(topology):
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
    schedules = graphql(topology.url, """query($s: RepositorySelector!) { repositoryOrError(repositorySelector: $s) {
        ... on Repository { schedules { name cronSchedule } } } }""", {"s": selector})["repositoryOrError"]["schedules"]
    assert RECHECK_SCHEDULE in {s["name"] for s in schedules}, schedules
    started = graphql(topology.url, """mutation($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) {
        __typename ... on ScheduleStateResult { scheduleState { id status } } ... on PythonError { message } } }""",
                      {"s": {**selector, "scheduleName": RECHECK_SCHEDULE}})["startSchedule"]
    assert started["__typename"] == "ScheduleStateResult", started
    state_id = started["scheduleState"]["id"]
    try:
        assert started["scheduleState"]["status"] == "RUNNING"
        schedule = graphql(topology.url, """query($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) {
            ... on Schedule { scheduleState { status } futureTicks(limit: 2) { results { timestamp } } } } }""",
                           {"s": {**selector, "scheduleName": RECHECK_SCHEDULE}})["scheduleOrError"]
        assert schedule["scheduleState"]["status"] == "RUNNING"
        assert len(schedule["futureTicks"]["results"]) == 2
        scheduler = {d["daemonType"]: d for d in topology.daemon_statuses()}["SCHEDULER"]
        assert scheduler["healthy"] and scheduler["lastHeartbeatErrors"] == []
    finally:
        graphql(topology.url, "mutation($id: String!) { stopRunningSchedule(id: $id) { __typename } }", {"id": state_id})


def test_the_compose_health_checks_pass_against_the_native_services(topology, postgres):
    """docker-compose.yml's own health-check commands, pointed at the native servers' ports."""
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    ports = {"4000": str(topology.code_port), "127.0.0.1:3000": f"127.0.0.1:{topology.web_port}"}

    def command(test: list[str]) -> list[str]:
        kind, *argv = test
        if kind == "CMD-SHELL":
            return ["sh", "-c", argv[0].replace("$$", "$")]
        for old, new in ports.items():
            argv = [arg.replace(old, new) for arg in argv]
        return [sys.executable if argv[0] == "python" else str(BIN / argv[0]), *argv[1:]]

    env = {**topology.env, "POSTGRES_USER": postgres.USER, "POSTGRES_DB": topology.env["DAGSTER_PG_DB"],
           "PGHOST": "127.0.0.1", "PGPORT": str(postgres.port),
           "PATH": f"{postgres.bin_dir}{os.pathsep}{topology.env['PATH']}"}
    for name in ("postgres", "code", "webserver", "daemon"):
        argv = command(services[name]["healthcheck"]["test"])
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (name, argv, result.stdout, result.stderr)
