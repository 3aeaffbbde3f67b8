"""The one retry rule: a step is tried again only when its failure can heal by itself.

Retried: a connection error or timeout, HTTP 408/425/429/5xx, a body cut short, a download of the
same file still in progress in another run (the download lock). Everything else fails the step at
once, with its message: a bad setting, a URL setting of another scheme (`ftp://...`), damaged or
malformed content, any other 4xx, a refused address, a bug.

Why this is not a `RetryPolicy` on the asset: Dagster applies a step's retry policy to every
exception of the step, `Failure(allow_retries=False)` aside, and also to a failure of a resource's
`setup_for_execution` (the multiprocess executor turns a resource-init failure into
`STEP_UP_FOR_RETRY` whatever the error), where settings are checked; so a bad setting was retried
for minutes. Here the retried assets carry no retry policy; `retry_only_what_can_heal` raises
`RetryRequested`, with the waits of `NETWORK_RETRY_POLICY`, for the transient failures alone, so
a settings error at setup fails the step at once as on every other asset. The price: a step
process that dies (killed, out of memory) is not retried by a policy either; a rerun resumes its
download from the partial file.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Callable, TypeVar

import aiohttp
import dagster as dg

from mm_assets.common.locks import OutputLocked
from mm_assets.fetch.verify import DownloadError

# How often and how long apart a transient failure is tried again: 30 s, 60 s, 120 s, 240 s (+-).
NETWORK_RETRY_POLICY = dg.RetryPolicy(
    max_retries=4, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

AssetFunction = TypeVar("AssetFunction", bound=Callable[..., object])


def can_heal(exc: BaseException) -> bool:
    """Whether trying again later may succeed without anyone changing anything."""
    if isinstance(exc, DownloadError):
        return exc.retryable  # set where the failure is understood: a 5xx yes, a 404 or damage no
    return isinstance(exc, (aiohttp.ClientConnectionError, asyncio.TimeoutError, ConnectionError, OutputLocked))


def retry_only_what_can_heal(
    asset_fn: AssetFunction | None = None, *, policy: dg.RetryPolicy = NETWORK_RETRY_POLICY,
) -> AssetFunction | Callable[[AssetFunction], AssetFunction]:
    """Decorate an asset function (under `@dg.asset`, which must have no `retry_policy`).

    A failure that `can_heal` requests a retry (at most `policy.max_retries`, waits as `policy`
    computes them); any other fails the step at once: a known error as `Failure` with its
    message, anything else as raised.
    """
    if asset_fn is None:
        return lambda fn: retry_only_what_can_heal(fn, policy=policy)

    @functools.wraps(asset_fn)
    def run_step(context: dg.AssetExecutionContext, *args, **kwargs):
        try:
            return asset_fn(context, *args, **kwargs)
        except (dg.Failure, dg.RetryRequested):
            raise
        except Exception as exc:
            if can_heal(exc):
                attempt = context.retry_number + 1
                if attempt <= policy.max_retries:
                    context.log.warning(f"transient failure, retry {attempt} of {policy.max_retries}: {exc}")
                raise dg.RetryRequested(max_retries=policy.max_retries,
                                        seconds_to_wait=policy.calculate_delay(attempt)) from exc
            if isinstance(exc, (DownloadError, ValueError, OSError)):  # their message says it all
                raise dg.Failure(description=str(exc), allow_retries=False) from exc
            raise

    run_step.transient_retry_policy = policy  # type: ignore[attr-defined]  (tests find the rule by it)
    return run_step  # type: ignore[return-value]
