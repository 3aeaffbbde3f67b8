"""Ordered, bounded parallel map over a pool of threads, and how many threads this process gets.

Results come back in input order whatever the completion order, so outputs never depend on
concurrency; at most `window` tasks are in flight, and at most `max_bytes` of them where a caller
says how large its items are, so memory is bounded by settings, not by input size or core count.

`default_workers` is the CPU this process may really use: a container limited to 4 CPUs on a
64-core node sees 64 in its affinity but gets 4 CPUs of time from its cgroup quota, and 64 threads
there would only multiply the memory in flight.

Threads, not processes: the heavy work of every caller runs in native code that releases the GIL
(tiktoken's BPE, liblzma, zlib, Pillow's decoders, numpy), so threads use every core. A thread pool
starts in microseconds inside a Dagster step, shares one tokenizer instead of building one per
worker, and passes blocks without pickling them.
"""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


# What the callers whose items carry data (xz members, image batches) let be in flight at once:
# enough for every core to have work on any machine, bounded whatever the core count.
IN_FLIGHT_BYTES = 256 * 2**20

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def default_workers(*, cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """The cores this process may use: its cgroup CPU quota where one is set, at most its CPU
    affinity, rounded up, at least 1 (the MM_WORKERS setting lives in the Dagster resource)."""
    cores = float(len(os.sched_getaffinity(0)))
    quota = cgroup_cpu_quota(cgroup_root=cgroup_root, proc_cgroup=proc_cgroup)
    if quota is not None:
        cores = min(cores, quota)
    return max(1, math.ceil(cores))


def cgroup_cpu_quota(*, cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """CPUs of time per second the cgroup quota allows (the smallest on the way from this process's
    cgroup up to the root), or None where none is set.

    cgroup v2: `cpu.max` holds "<quota> <period>", "max" for none. v1: `cpu.cfs_quota_us` and
    `cpu.cfs_period_us` under the cpu controller's mount, -1 for none.
    """
    memberships = _cgroup_memberships(proc_cgroup)
    quotas = []
    for folder in _cgroup_folders(cgroup_root, memberships.get("", "/")):
        quotas.append(_v2_quota(folder / "cpu.max"))
    cpu_path = next((path for names, path in memberships.items() if "cpu" in names.split(",")), "/")
    for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for folder in _cgroup_folders(cgroup_root / mount, cpu_path):
            quotas.append(_v1_quota(folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us"))
    found = [quota for quota in quotas if quota is not None]
    return min(found) if found else None


def _cgroup_memberships(proc_cgroup: Path) -> dict[str, str]:
    """controllers ("" for the v2 hierarchy) -> this process's cgroup path, from /proc/self/cgroup."""
    try:
        lines = proc_cgroup.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    memberships = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            memberships[parts[1]] = parts[2]
    return memberships


def _cgroup_folders(mount: Path, cgroup_path: str) -> list[Path]:
    """The process's cgroup folder under `mount` and each parent up to `mount`, where they exist."""
    relative = Path(cgroup_path.lstrip("/"))
    folders = [mount / relative, *(mount / parent for parent in relative.parents)]
    return [folder for folder in dict.fromkeys(folders) if folder.is_dir()]


def _read_words(path: Path) -> list[str] | None:
    try:
        return path.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None


def _v2_quota(cpu_max: Path) -> float | None:
    words = _read_words(cpu_max)
    if not words or words[0] == "max":
        return None
    try:
        quota, period = int(words[0]), int(words[1]) if len(words) > 1 else 100_000
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v1_quota(quota_file: Path, period_file: Path) -> float | None:
    quota, period = _read_words(quota_file), _read_words(period_file)
    try:
        quota_us, period_us = int(quota[0]), int(period[0])  # type: ignore[index]
    except (TypeError, IndexError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    window: int | None = None,
    size: Callable[[T], int] | None = None,
    max_bytes: int | None = None,
) -> Iterator[R]:
    """Like `map(fn, items)`, run on `workers` threads (inline when workers == 1).

    `items` is consumed on the caller's thread. At most `window` items (default 2 x workers) are
    in flight (submitted, their result not yet taken), and, where `size` says how many bytes an
    item holds (its data and what its result will hold), at most `max_bytes` of them; an item
    larger than the budget runs alone. One more item, read and waiting for room, is held too.
    An error in an item is raised here, in order; the items not yet started are cancelled and the
    threads are joined before it propagates (likewise when the caller stops early).
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    window = window or 2 * workers
    budget = max_bytes if size is not None and max_bytes is not None else None
    with ThreadPoolExecutor(workers, thread_name_prefix="mm-worker") as pool:
        pending: deque[tuple[Future, int]] = deque()
        held = 0
        try:
            for item in items:
                nbytes = size(item) if budget is not None else 0
                while pending and (len(pending) >= window or (budget is not None and held + nbytes > budget)):
                    future, done_bytes = pending.popleft()
                    held -= done_bytes
                    yield future.result()
                pending.append((pool.submit(fn, item), nbytes))
                held += nbytes
            while pending:
                future, done_bytes = pending.popleft()
                held -= done_bytes
                yield future.result()
        finally:
            for future, _ in pending:
                future.cancel()
