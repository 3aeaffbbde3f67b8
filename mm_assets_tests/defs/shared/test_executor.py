"""MM_EXECUTOR chooses where steps run; anything else fails the code location's load with a
message naming the variable, the value and what it accepts."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from mm_assets.defs.shared.executor import executor_from_env
from mm_assets.defs.shared.resources import SettingError

CELERY = {"MM_EXECUTOR": "celery", "MM_CELERY_BROKER_URL": "redis://:pw@broker:6379/0",
          "MM_CELERY_BACKEND_URL": "redis://:pw@broker:6379/1"}


def test_multiprocess_is_the_default_and_dagsters_own():
    assert executor_from_env({}) is dg.multi_or_in_process_executor
    assert executor_from_env({"MM_EXECUTOR": " Multiprocess "}) is dg.multi_or_in_process_executor


def test_celery_reads_broker_and_backend_where_the_run_executes(monkeypatch):
    """The URLs are read when a run resolves its config (run worker, celery worker), not frozen at
    load time, so a password in them never lands in the run's stored config."""
    executor = executor_from_env(CELERY)
    assert executor.name == "celery"
    for url in ("redis://:first@broker:6379/0", "redis://:second@other:6379/0"):
        monkeypatch.setenv("MM_CELERY_BROKER_URL", url)
        monkeypatch.setenv("MM_CELERY_BACKEND_URL", url.replace("/0", "/1"))
        resolved = executor.config_schema.resolve_config({})
        assert resolved.success, resolved.errors
        assert resolved.value["config"]["broker"] == url
        assert resolved.value["config"]["backend"] == url.replace("/0", "/1")


@pytest.mark.parametrize("value", ["dask", "", "multi process", "k8s"])
def test_anything_else_is_refused_naming_the_variable(value):
    with pytest.raises(SettingError, match=rf"MM_EXECUTOR={value!r}: expected one of multiprocess, celery"):
        executor_from_env({"MM_EXECUTOR": value})


@pytest.mark.parametrize("missing", ["MM_CELERY_BROKER_URL", "MM_CELERY_BACKEND_URL"])
def test_celery_without_its_urls_is_refused(missing):
    env = {k: v for k, v in CELERY.items() if k != missing}
    with pytest.raises(SettingError, match=f"MM_EXECUTOR=celery needs {missing}"):
        executor_from_env(env)
    with pytest.raises(SettingError, match=f"{missing}='broker:6379': expected a broker URL"):
        executor_from_env({**CELERY, missing: "broker:6379"})


@pytest.mark.e2e  # a fresh interpreter importing Dagster: a few seconds
def test_the_code_location_fails_to_load_with_that_message():
    env = {**os.environ, "MM_EXECUTOR": "spark", "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    result = subprocess.run([sys.executable, "-c", "import mm_assets.definitions"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "MM_EXECUTOR='spark': expected one of multiprocess, celery (default multiprocess)" in result.stderr
