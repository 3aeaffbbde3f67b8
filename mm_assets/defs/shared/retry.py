"""How download failures meet Dagster's retry policy: only transient ones are retried."""

import contextlib
from typing import Iterator

import dagster as dg

from mm_assets.fetch.http import DownloadError

# For assets that download: a timeout or a 5xx is tried again later, with growing, jittered waits.
NETWORK_RETRY_POLICY = dg.RetryPolicy(
    max_retries=4, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


@contextlib.contextmanager
def retry_only_transient_download_errors() -> Iterator[None]:
    """A refused address, a 404 or a checksum mismatch fails at once instead of being retried."""
    try:
        yield
    except DownloadError as exc:
        if exc.retryable:
            raise
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
