"""What became of one crawled URL: one class per kind of failure, so that every failure is counted.

A crawl of millions of URLs must not stop at the first bad one, nor swallow it: each URL ends in
exactly one class below, with a short detail for people, and the counts per class go into the
metadata (`dropped_<class>`). `classify_exception` maps what aiohttp and asyncio raise onto them.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import aiohttp

from mm_assets.fetch.http import AddressRefused

OK = "ok"
HTTP_ERROR = "http_error"  # any status but 200 (or 206 for a ranged check); the code is kept
TIMEOUT = "timeout"  # connect or total time (every hop and the body) ran out
DNS_FAILURE = "dns_failure"
CONNECTION_ERROR = "connection_error"  # refused, reset, TLS failure, a malformed HTTP answer
TOO_MANY_REDIRECTS = "too_many_redirects"
NOT_AN_IMAGE = "not_an_image"  # the first bytes are no image format (an error page, JSON, ...)
TOO_LARGE = "too_large"  # announced or read beyond the byte cap
BLOCKED_ADDRESS = "blocked_address"  # loopback, private or link-local, after DNS and each redirect
BAD_URL = "bad_url"  # not http(s), no host, unparsable
ROBOTS_REFUSED = "robots_refused"  # X-Robots-Tag: noai / noimageai
TRUNCATED = "truncated"  # the body stopped before its Content-Length or last chunk

CRAWL_CLASSES = (OK, HTTP_ERROR, TIMEOUT, DNS_FAILURE, CONNECTION_ERROR, TOO_MANY_REDIRECTS,
                 NOT_AN_IMAGE, TOO_LARGE, BLOCKED_ADDRESS, BAD_URL, ROBOTS_REFUSED, TRUNCATED)
# Failures that may pass if tried again a moment later.
TRANSIENT = frozenset({TIMEOUT, CONNECTION_ERROR, TRUNCATED})
TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_transient(status: str, http_status: int | None) -> bool:
    return status in TRANSIENT or (status == HTTP_ERROR and http_status in TRANSIENT_HTTP)


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """(class, detail) of an exception raised while crawling one URL."""
    if isinstance(exc, AddressRefused):
        if exc.address is None:
            return BLOCKED_ADDRESS, f"{exc.host} is a cloud metadata host"
        return BLOCKED_ADDRESS, f"{exc.host} resolves to non-public address {exc.address}"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, aiohttp.ServerTimeoutError)):
        return TIMEOUT, "timed out"
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or _is_dns_error(exc):
        return DNS_FAILURE, _short(exc)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TRUNCATED, _short(exc)
    if isinstance(exc, (aiohttp.InvalidURL, UnicodeError)):
        return BAD_URL, _short(exc)
    if isinstance(exc, (aiohttp.ClientError, ConnectionError, ssl.SSLError, OSError)):
        return CONNECTION_ERROR, _short(exc)
    if isinstance(exc, ValueError):  # yarl/aiohttp refuse some URLs with a bare ValueError
        return BAD_URL, _short(exc)
    raise exc  # a bug, not a property of the URL: never hidden in a count


def _is_dns_error(exc: BaseException) -> bool:
    seen = exc
    for _ in range(4):
        if isinstance(seen, socket.gaierror):
            return True
        seen = getattr(seen, "os_error", None) or seen.__cause__
        if seen is None:
            return False
    return False


def _short(exc: BaseException, limit: int = 200) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."
