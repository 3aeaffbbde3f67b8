"""Where a run's steps execute, chosen by `MM_EXECUTOR` when the code location loads.

- `multiprocess` (the default): each step in a subprocess of the run worker, on one machine
  (Dagster's own default executor, so `in_process` can still be chosen in a run's config).
- `celery`: each step is a task on a broker (`MM_CELERY_BROKER_URL`, e.g. Redis), run by whichever
  `dagster-celery` worker takes it, on this machine or another one sharing `MM_DATA_ROOT`.

The broker and backend go into the executor's config as `{"env": ...}` references, so a URL
with a password is read from the environment where the run executes and never stored with the run.
A worker reads the same variables through `celery_worker.yaml`.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

import dagster as dg

from .resources import SettingError, setting_error

EXECUTOR_VARIABLE = "MM_EXECUTOR"
BROKER_VARIABLE = "MM_CELERY_BROKER_URL"
BACKEND_VARIABLE = "MM_CELERY_BACKEND_URL"
EXECUTORS = ("multiprocess", "celery")


def executor_from_env(environ: Optional[Mapping[str, str]] = None) -> dg.ExecutorDefinition:
    """The executor `MM_EXECUTOR` names; `SettingError` naming the variable for anything else."""
    environ = os.environ if environ is None else environ
    value = environ.get(EXECUTOR_VARIABLE, "multiprocess")
    name = value.strip().lower()
    if name == "multiprocess":
        return dg.multi_or_in_process_executor
    if name == "celery":
        return _celery_executor(environ)
    raise setting_error(EXECUTOR_VARIABLE, value, f"one of {', '.join(EXECUTORS)} (default multiprocess)")


def _celery_executor(environ: Mapping[str, str]) -> dg.ExecutorDefinition:
    for variable, example in ((BROKER_VARIABLE, "redis://redis:6379/0"), (BACKEND_VARIABLE, "redis://redis:6379/1")):
        value = environ.get(variable)
        if value is None:
            raise SettingError(f"{EXECUTOR_VARIABLE}=celery needs {variable}: expected a URL, e.g. {example}")
        if "://" not in value:
            raise setting_error(variable, value, f"a broker URL, e.g. {example}")
    try:
        from dagster_celery import celery_executor
    except ImportError:
        raise SettingError(
            f"{EXECUTOR_VARIABLE}=celery needs dagster-celery: install the project's deploy extra "
            "(pip install -e '.[deploy]'; `make venv` does)") from None
    return celery_executor.configured(
        {"broker": {"env": BROKER_VARIABLE}, "backend": {"env": BACKEND_VARIABLE}}, name="celery")
