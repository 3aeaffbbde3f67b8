"""Ordered, bounded parallel map over a pool of threads.

Results come back in input order whatever the completion order, so outputs never depend on
concurrency; at most `window` tasks are in flight, so memory is bounded by settings, not input size.

Threads, not processes: the heavy work of every caller runs in native code that releases the GIL
(tiktoken's BPE, liblzma, zlib, Pillow's decoders, numpy), so threads use every core. A thread pool
starts in microseconds inside a Dagster step, shares one tokenizer instead of building one per
worker, and passes blocks without pickling them.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """The cores this process may use (the MM_WORKERS setting lives in the Dagster resource)."""
    return max(1, len(os.sched_getaffinity(0)))


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    window: int | None = None,
) -> Iterator[R]:
    """Like `map(fn, items)`, run on `workers` threads (inline when workers == 1).

    `items` is consumed on the caller's thread, at most `window` items ahead of the results.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    window = window or 2 * workers
    with ThreadPoolExecutor(workers, thread_name_prefix="mm-worker") as pool:
        pending: deque[Future] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
