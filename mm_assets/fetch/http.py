"""Streaming HTTP(S) downloads that resume, verify and refuse what they must.

Every download is written to a `.partial-<name>` file beside the target and renamed only when it
is complete (and, when a checksum is pinned, verified). A partial file left by a killed run is
resumed with an HTTP Range request. Redirects are followed by hand so that each hop is checked
against the address policy (no loopback or private targets unless allowed).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import ipaddress
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

import aiohttp

from mm_assets.common.progress import Progress

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadError(Exception):
    """A download failed; the message names the URL and the reason.

    `retryable` says whether trying again later may help (a timeout, a broken connection, a 5xx)
    or not (a refused address, a 404, a checksum mismatch).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class FetchPolicy:
    """What a download may do: where it may go, how long it may wait, how big it may be."""

    allow_private: bool = False
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 120.0
    max_redirects: int = 5
    max_bytes: int | None = None
    # Extra headers (for example a hub token) sent only to these hosts, never to redirect targets
    # elsewhere.
    host_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    user_agent: str = "mm_assets (+https://github.com/)"


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    size: int
    sha256: str
    resumed_from: int
    final_url: str


def partial_path(dest: Path) -> Path:
    return dest.parent / f".partial-{dest.name}"


async def check_address_allowed(url: str, policy: FetchPolicy) -> None:
    """Refuse non-HTTP schemes, and hosts that resolve to loopback/private/link-local addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DownloadError(f"{url}: scheme {parts.scheme!r} is not allowed (http or https only)")
    if not parts.hostname:
        raise DownloadError(f"{url}: no host")
    if policy.allow_private:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DownloadError(f"{url}: cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global:
            raise DownloadError(
                f"{url}: {parts.hostname} resolves to non-public address {address}; "
                "set MM_HTTP_ALLOW_PRIVATE=1 to allow loopback/private mirrors"
            )


def _hash_prefix(path: Path, length: int) -> "hashlib._Hash":
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        remaining = length
        while remaining:
            block = handle.read(min(1 << 20, remaining))
            if not block:
                break
            digest.update(block)
            remaining -= len(block)
    return digest


async def _open_following_redirects(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], policy: FetchPolicy
) -> tuple[aiohttp.ClientResponse, str]:
    origin_host = urlsplit(url).hostname
    current = url
    for _ in range(policy.max_redirects + 1):
        await check_address_allowed(current, policy)
        hop_headers = dict(headers)
        host = urlsplit(current).hostname
        if host == origin_host:
            hop_headers.update(policy.host_headers.get(host or "", {}))
        response = await session.get(current, headers=hop_headers, allow_redirects=False)
        if response.status in REDIRECT_STATUSES:
            location = response.headers.get("Location")
            response.release()
            if not location:
                raise DownloadError(f"{current}: redirect {response.status} without Location")
            current = urljoin(current, location)
            continue
        return response, current
    raise DownloadError(f"{url}: more than {policy.max_redirects} redirects")


async def download_to_file(
    url: str,
    dest: str | os.PathLike,
    *,
    policy: FetchPolicy = FetchPolicy(),
    expected_sha256: str | None = None,
    log: Callable[[str], None] | None = None,
    chunk_size: int = 1 << 20,
) -> DownloadResult:
    """Download `url` to `dest` atomically, resuming a partial file left by an earlier attempt."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".lock-{dest.name}", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadError(f"{dest}: another download of this file is in progress",
                                retryable=True) from None
        return await _download_locked(url, dest, policy, expected_sha256, log, chunk_size)


async def _download_locked(url, dest, policy, expected_sha256, log, chunk_size) -> DownloadResult:
    part = partial_path(dest)
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=policy.connect_timeout_s, sock_read=policy.read_timeout_s
    )
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        try:
            response, final_url = await _open_following_redirects(session, url, headers, policy)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DownloadError(f"{url}: {type(exc).__name__}: {exc}", retryable=True) from exc
        async with response:
            total = await _prepare_partial(url, response, part, have)
            resumed_from = part.stat().st_size if part.exists() else 0
            if total is not None and policy.max_bytes is not None and total > policy.max_bytes:
                raise DownloadError(f"{url}: {total} bytes exceeds the limit of {policy.max_bytes}")
            digest = _hash_prefix(part, resumed_from) if resumed_from else hashlib.sha256()
            size = resumed_from
            progress = Progress(f"download {dest.name}", log, total=total)
            progress.advance(resumed_from)
            try:
                with open(part, "ab") as handle:
                    async for block in response.content.iter_chunked(chunk_size):
                        size += len(block)
                        if policy.max_bytes is not None and size > policy.max_bytes:
                            handle.close()
                            part.unlink()  # resuming it would only hit the limit again
                            raise DownloadError(
                                f"{url}: more than the limit of {policy.max_bytes} bytes"
                            )
                        handle.write(block)
                        digest.update(block)
                        progress.advance(len(block))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise DownloadError(
                    f"{url}: connection broke after {size} bytes ({type(exc).__name__}: {exc}); "
                    "the partial file is kept and the next attempt resumes it", retryable=True,
                ) from exc
    if total is not None and size != total:
        raise DownloadError(
            f"{url}: truncated, got {size} of {total} bytes; the next attempt resumes it",
            retryable=True,
        )
    sha256 = digest.hexdigest()
    if expected_sha256 is not None and sha256 != expected_sha256:
        part.unlink()
        raise DownloadError(
            f"{dest.name}: sha256 mismatch: expected {expected_sha256}, got {sha256} (from {url})"
        )
    os.replace(part, dest)
    progress.finish()
    return DownloadResult(dest, size, sha256, resumed_from, final_url)


async def _prepare_partial(
    url: str, response: aiohttp.ClientResponse, part: Path, have: int
) -> int | None:
    """Check the status; truncate the partial file when the server restarts from zero.

    Returns the full size of the resource when the server says it.
    """
    if response.status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != have:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{url}: server answered a Range request for byte {have} with "
                f"Content-Range {response.headers.get('Content-Range')!r}; partial file dropped",
                retryable=True,
            )
        return None if match.group(3) == "*" else int(match.group(3))
    if response.status == 416 and have:
        # Asked beyond the end: the partial file is either complete or longer than the resource.
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: Range not satisfiable at byte {have}; partial file dropped",
                            retryable=True)
    if response.status != 200:
        transient = response.status >= 500 or response.status in (408, 425, 429)
        raise DownloadError(f"{url}: HTTP {response.status} {response.reason}", retryable=transient)
    if have:
        part.unlink(missing_ok=True)  # the server ignored Range: start again from byte 0
    length = response.headers.get("Content-Length")
    return int(length) if length is not None and length.isdigit() else None


def download_file_sync(url: str, dest: str | os.PathLike, **kwargs) -> DownloadResult:
    return asyncio.run(download_to_file(url, dest, **kwargs))
