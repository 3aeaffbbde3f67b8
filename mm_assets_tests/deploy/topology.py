"""The production topology, natively: PostgreSQL storage, a gRPC code server, the daemon and the
webserver, on loopback ports, configured by the repository's own `dagster.yaml` and the
structure of `workspace.docker.yaml`; runs launched and watched through the GraphQL API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional
from unittest import mock

import yaml

from .services import Service, ServiceError, free_port

REPO = Path(__file__).resolve().parents[2]
LOCATION = "mm_assets"
ASSET_JOB = "__ASSET_JOB"
BIN = Path(sys.executable).parent
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def dagster_home(folder: Path) -> Path:
    """A DAGSTER_HOME holding the repository's dagster.yaml as it is."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "dagster.yaml", folder / "dagster.yaml")
    return folder


def native_workspace(home: Path, port: int) -> Path:
    """workspace.docker.yaml with the code server's address on this machine instead of `code:4000`."""
    workspace = yaml.safe_load((REPO / "workspace.docker.yaml").read_text())
    (entry,) = workspace["load_from"]
    entry["grpc_server"].update(host="127.0.0.1", port=port)
    path = home / "workspace.yaml"
    path.write_text(yaml.safe_dump(workspace))
    return path


@contextmanager
def instance_on(home: Path, env: dict[str, str]) -> Iterator:
    """The DagsterInstance of `home`, as the deployment's processes see it (its settings from `env`)."""
    import dagster as dg

    with mock.patch.dict(os.environ, {k: v for k, v in env.items() if k.startswith("DAGSTER_PG_")}):
        instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()


def graphql(url: str, query: str, variables: Optional[dict] = None) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    if body.get("errors"):
        raise AssertionError(f"GraphQL errors: {body['errors']}")
    return body["data"]


LOCATION_STATUS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def initialize_pools(env: dict) -> None:
    """Create the code location's concurrency pools on the instance `env` points at."""
    subprocess.run([str(BIN / "python"), "-m", "mm_assets.defs.shared.pools"], env=env, check=True,
                   capture_output=True, timeout=300)


class Topology:
    """Code server, daemon and webserver over one DAGSTER_HOME; `stop()` ends them all."""

    def __init__(self, home: Path, env: dict[str, str], log_dir: Path) -> None:
        self.home, self.env, self.log_dir = home, env, log_dir
        self.code_port, self.web_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        workspace = native_workspace(home, self.code_port)
        self.code = Service("code server", [
            str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(self.code_port),
            "-m", "mm_assets.definitions"], env=env, log_path=log_dir / "code_server.log", cwd=home)
        self.daemon = Service("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
                              env=env, log_path=log_dir / "daemon.log", cwd=home)
        self.webserver = Service("webserver", [
            str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.web_port), "-w", str(workspace)],
            env=env, log_path=log_dir / "webserver.log", cwd=home)
        self.services = [self.code, self.daemon, self.webserver]

    def start(self) -> "Topology":
        from dagster._grpc.client import DagsterGrpcClient

        grpc = DagsterGrpcClient(port=self.code_port, host="127.0.0.1")

        def code_loaded() -> bool:
            answer = grpc.list_repositories()
            if '"SerializableErrorInfo"' in answer:
                raise ServiceError(f"the code server could not load the code location: {answer[:3000]}")
            return '"ListRepositoriesResponse"' in answer

        self.code.start().wait_until(code_loaded, timeout=180, what="code location loaded")
        initialize_pools(self.env)  # as the compose file's init-pools service does
        self.daemon.start()
        self.webserver.start().wait_until(
            lambda: urllib.request.urlopen(f"{self.url}/server_info", timeout=5).status == 200,
            timeout=180, what="/server_info answered")
        self.webserver.wait_until(self._location_loaded, timeout=120, what="the code location in the workspace")
        self.daemon.wait_until(lambda: all(d["healthy"] for d in self.daemon_statuses() if d["required"]),
                               timeout=180, what="every required daemon healthy")
        return self

    def _location_loaded(self) -> bool:
        entries = graphql(self.url, LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
        (entry,) = [e for e in entries if e["name"] == LOCATION]
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            raise ServiceError(f"the code location failed to load: {loaded['message']}")
        return entry["loadStatus"] == "LOADED" and loaded.get("__typename") == "RepositoryLocation"

    def daemon_statuses(self) -> list[dict]:
        data = graphql(self.url, """{ instance { daemonHealth { allDaemonStatuses {
            daemonType healthy required lastHeartbeatErrors { message } } } } }""")
        return data["instance"]["daemonHealth"]["allDaemonStatuses"]

    def client(self):
        from dagster_graphql import DagsterGraphQLClient

        return DagsterGraphQLClient("127.0.0.1", port_number=self.web_port, timeout=120)

    def launch(self, assets: list[str], partition: Optional[str] = None) -> str:
        """Submit a run of `assets` (and their checks) through GraphQL; the daemon dequeues it."""
        tags = {"dagster/partition": partition} if partition else None
        return self.client().submit_job_execution(
            ASSET_JOB, repository_location_name=LOCATION, repository_name="__repository__",
            asset_selection=assets, tags=tags, run_config={})

    def wait_for(self, run_ids: list[str], timeout: float = 900) -> dict[str, str]:
        """Each run's final status; fails with the runs' errors and the services' logs if one never ends."""
        client, deadline, statuses = self.client(), time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            statuses = {run_id: client.get_run_status(run_id).value for run_id in run_ids}
            if all(status in FINISHED for status in statuses.values()):
                return statuses
            for service in self.services:
                if not service.alive():
                    raise ServiceError(f"{service.name} died while runs were in flight:\n{service.log_tail()}")
            time.sleep(2)
        raise ServiceError(f"runs not finished after {timeout:.0f} s: {statuses}\n"
                           + "\n".join(f"--- {s.name}\n{s.log_tail(3000)}" for s in self.services))

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


def run_errors(instance, run_id: str) -> str:
    """The error messages a run logged, to say why it failed."""
    import dagster as dg

    records = instance.all_logs(run_id)
    lines = []
    for record in records:
        event = record.dagster_event
        if event is not None and event.event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE,
                                                      dg.DagsterEventType.ENGINE_EVENT):
            error = getattr(event.event_specific_data, "error", None)
            if error is not None or event.event_type != dg.DagsterEventType.ENGINE_EVENT:
                lines.append(f"{event.event_type_value} {event.step_key or ''}: {event.message}\n"
                             f"{error.to_string() if error else ''}")
    return "\n".join(lines) or "(no error events)"


def pipeline_env(*, data_root: Path, home: Path, owt_mirror: Path, bpe_dir: Path, fairseq_python: str,
                 **extra: str) -> dict[str, str]:
    """The environment of every deployment process: this checkout's code, the sample's settings
    (those of the `cli_run` fixture, so outputs can be compared), and nothing inherited that would
    choose another executor or instance."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("DAGSTER_", "MM_EXECUTOR", "MM_CELERY_"))}
    return {
        **inherited,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery starts `celery` from PATH
        "PYTHONPATH": str(REPO),
        "DAGSTER_HOME": str(home),
        "MM_DATA_ROOT": str(data_root),
        "MM_OWT_URL": str(owt_mirror),
        "MM_GPT2_BPE_URL": str(bpe_dir),
        "MM_OWT_TRAIN_SLICES": "0-1",
        "MM_OWT_VALID_SLICES": "5",
        "MM_FAIRSEQ_PYTHON": fairseq_python,
        "MM_WORKERS": "2",
        "MM_RAW_FILES": "keep",  # as cli_run: the intermediates are compared file by file
        **extra,
    }
