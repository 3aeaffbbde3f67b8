"""Streaming HTTP(S) downloads that resume, verify and refuse what they must.

Every download is written to a `.partial-<name>` file beside the target and renamed only when it
is complete and verified (`mm_assets.fetch.verify`): a file that fails is removed, never kept. A
partial file left by a broken transfer is resumed with an HTTP Range request. Redirects are
followed by hand so that each hop is checked against the address policy (no loopback or private
targets unless allowed; link-local and cloud metadata addresses and names only when allowed apart),
and the address checked is the one connected to: DNS is resolved once per connection, by the
policy's own resolver. Credentials (the hub token) go only to their exact origin (scheme, host,
port), and never again once a redirect changed the scheme.

A file that fails verification after one transfer from byte 0 whose length matched the server's
Content-Length is damaged at the source: trying again would get the same bytes, so that failure is
not retryable. One whose length the server did not announce (it may have been cut) or that was
resumed is retryable: the file is removed and the next attempt starts from byte 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import os
import re
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from mm_assets.common.atomic import fsync_dir
from mm_assets.common.locks import OutputLocked, describe_owner, exclusive_lock, lock_path_for
from mm_assets.common.progress import Progress
from mm_assets.fetch.verify import (  # noqa: F401  (the errors are exported from here too)
    Announced,
    DownloadError,
    VerificationError,
    Verifier,
    check_announced_sha256,
    check_complete_file,
)

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# Every request names the project (downloads, the hub's API, the image crawl); the token is what an
# X-Robots-Tag directive for this agent names.
USER_AGENT_TOKEN = "mm_assets"
USER_AGENT = f"{USER_AGENT_TOKEN}/0.1 (dataset preparation for research; honours X-Robots-Tag noai/noimageai)"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_QUOTED_SHA256 = re.compile(r'"([0-9a-fA-F]{64})"')  # a weak W/"..." etag is no hash
# Headers in which a source publishes a file's sha256, in order of precedence: the hub's
# `X-Linked-ETag` names the LFS file itself, a plain `ETag` only when it is a 64-hex string.
SHA256_HEADERS = ("X-Linked-ETag", "ETag")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata services (credentials of the machine) outside 169.254.0.0/16 and
# fe80::/10, and the names that reach them: allowed only with `allow_link_local`.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                            "instance-data.ec2.internal"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
PRIVATE_SETTING = "MM_HTTP_ALLOW_PRIVATE=1"
LINK_LOCAL_SETTING = "MM_HTTP_ALLOW_LINK_LOCAL=1"


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), or the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_link_local_or_metadata(address: IPAddress) -> bool:
    return address.is_link_local or address in METADATA_ADDRESSES


def credential_origin(url: str) -> str:
    """`scheme://host:port` of `url`, the port spelled out; "" for a URL without a sound one."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.hostname or ''}:{port}"


@dataclass(frozen=True)
class FetchPolicy:
    """What a download may do: where it may go, how long it may wait, how big it may be."""

    allow_private: bool = False
    # Link-local addresses (169.254.0.0/16, fe80::/10) and cloud metadata services: never allowed
    # by `allow_private`, only by this.
    allow_link_local: bool = False
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 120.0
    max_redirects: int = 5
    max_bytes: int | None = None
    # Extra headers (for example a hub token) sent only to these origins (`credential_origin`:
    # scheme, host and port), never to a redirect target elsewhere nor after a change of scheme.
    origin_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    # Which addresses count as public when private ones are not allowed; None: `is_global`.
    # Tests replace it to play a public host on loopback.
    address_allowed: Callable[[IPAddress], bool] | None = None
    # Makes the DNS resolver whose answers are checked and then connected to; None: aiohttp's
    # default. Tests replace it to play a DNS server.
    make_resolver: Callable[[], AbstractResolver] | None = None
    # The TLS context that checks servers' certificates; None: the system's trust store. Tests
    # replace it to trust a certificate made for a loopback server.
    ssl_context: ssl.SSLContext | None = None

    def allows(self, address: IPAddress) -> bool:
        address = embedded_ipv4(address)
        if is_link_local_or_metadata(address):
            return self.allow_link_local
        if self.allow_private:
            return True
        return self.address_allowed(address) if self.address_allowed else address.is_global

    def allows_host_name(self, host: str) -> bool:
        """A cloud metadata service's name is refused as its address is (before any DNS)."""
        return self.allow_link_local or host.rstrip(".").lower() not in METADATA_HOSTS

    def setting_for(self, address: IPAddress | None) -> str:
        """The setting that would allow `address` (None: a metadata host name)."""
        return LINK_LOCAL_SETTING if address is None or is_link_local_or_metadata(embedded_ipv4(address)) \
            else PRIVATE_SETTING


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    size: int
    sha256: str
    resumed_from: int
    final_url: str
    # What the file passed before it was renamed into place, e.g. ("size 5678 = Content-Length",
    # "sha256 = X-Linked-ETag", <what `verify` returned>); empty when nothing could be checked.
    verified: tuple[str, ...] = ()


def partial_path(dest: Path) -> Path:
    return dest.parent / f".partial-{dest.name}"


@contextlib.contextmanager
def download_lock(dest: Path, owner: str | None = None) -> Iterator[None]:
    """One writer of `dest` (and its partial file) at a time; a second fails as retryable."""
    held = contextlib.ExitStack()
    try:
        held.enter_context(exclusive_lock(lock_path_for(dest), owner=owner or describe_owner(), what=dest.name))
    except OutputLocked as exc:
        raise DownloadError(f"{dest}: another download of this file is in progress: {exc}",
                            retryable=True) from None
    with held:
        yield


def finish_partial(part: Path, dest: Path, **checks) -> tuple[str, ...]:
    """Verify the complete `part` (see `check_complete_file` for `checks`), then rename it to
    `dest` durably. Returns what was verified; a file that fails is removed, not renamed."""
    verified = check_complete_file(part, **checks)
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(part, dest)
    fsync_dir(dest.parent)
    return verified


def _refusal(url: str, host: str, address: IPAddress | None, policy: FetchPolicy) -> DownloadError:
    setting = policy.setting_for(address)
    if setting == LINK_LOCAL_SETTING:
        what = "is a cloud metadata host" if address is None else f"resolves to link-local/metadata address {address}"
        todo = (f"{PRIVATE_SETTING} does not allow those; set {LINK_LOCAL_SETTING} only if this source "
                "truly is on the local link")
    else:
        what = f"resolves to non-public address {address}"
        todo = f"set {PRIVATE_SETTING} to allow loopback/private mirrors"
    return DownloadError(f"{url}: {host} {what}; {todo}")


async def check_address_allowed(url: str, policy: FetchPolicy) -> None:
    """Refuse non-HTTP schemes, and hosts written as a non-public IP address.

    Host names are checked when they are resolved to connect (`PolicyResolver`), not here: a
    second resolution could answer differently (DNS rebinding).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DownloadError(f"{url}: scheme {parts.scheme!r} is not allowed (http or https only)")
    if not parts.hostname:
        raise DownloadError(f"{url}: no host")
    try:
        address = ipaddress.ip_address(parts.hostname.split("%", 1)[0])
    except ValueError:
        if not policy.allows_host_name(parts.hostname):
            raise _refusal(url, parts.hostname, None, policy) from None
        return  # a name: its addresses are checked when it is resolved to connect
    if not policy.allows(address):
        raise _refusal(url, parts.hostname, address, policy)


class AddressRefused(Exception):
    """A host resolved to an address the policy refuses, or is a metadata host name (`address`
    None) (raised by `PolicyResolver`)."""

    def __init__(self, host: str, address: IPAddress | None) -> None:
        super().__init__(host, address)
        self.host, self.address = host, address


class PolicyResolver(AbstractResolver):
    """aiohttp's resolver for downloads: every address it hands over passed the policy.

    aiohttp connects to exactly the addresses a resolver returns (with its DNS cache off, it asks
    for each new connection), so the policy sees the address connected to, for every hop. A host
    with any refused address is refused as a whole, before any connection is made.
    """

    def __init__(self, policy: FetchPolicy, underlying: AbstractResolver) -> None:
        self._policy = policy
        self._underlying = underlying

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if not self._policy.allows_host_name(host):
            raise AddressRefused(host, None)
        answers = await self._underlying.resolve(host, port, family)
        for answer in answers:
            address = ipaddress.ip_address(answer["host"].split("%", 1)[0])
            if not self._policy.allows(address):
                raise AddressRefused(host, address)
        return answers

    async def close(self) -> None:
        await self._underlying.close()


@contextlib.asynccontextmanager
async def policy_session(policy: FetchPolicy) -> AsyncIterator[aiohttp.ClientSession]:
    resolver = PolicyResolver(policy, policy.make_resolver() if policy.make_resolver else DefaultResolver())
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=policy.connect_timeout_s, sock_read=policy.read_timeout_s
    )
    try:
        # No proxy from the environment either (trust_env is off): the policy would check the
        # proxy's address, not the target's.
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False,
                                           ssl=policy.ssl_context if policy.ssl_context is not None else True),
            timeout=timeout, auto_decompress=False,
        ) as session:
            yield session
    finally:
        await resolver.close()


def published_sha256(hops: list[Mapping[str, str]]) -> tuple[str | None, str]:
    """The sha256 the source publishes for the file, and the header it came in.

    The hub sends it on the first hop of `resolve/...` (a redirect to a CDN), so every hop's
    headers count; an `X-Linked-ETag` on any hop beats an `ETag`, and an earlier hop a later one.
    """
    for name in SHA256_HEADERS:
        for headers in hops:
            match = _QUOTED_SHA256.fullmatch(headers.get(name, "").strip())
            if match:
                return match.group(1).lower(), name
    return None, ""


async def open_following_redirects(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], policy: FetchPolicy
) -> tuple[aiohttp.ClientResponse, str, list[Mapping[str, str]]]:
    """The final response, its URL, and the headers of every hop (the final one included).

    The policy's credentials for `url`'s origin go to hops on that same origin only, and to none
    after a redirect changed the scheme (https -> http), even one that comes back.
    """
    origin = credential_origin(url)
    credentials = policy.origin_headers.get(origin, {})
    current = url
    hops: list[Mapping[str, str]] = []
    for _ in range(policy.max_redirects + 1):
        await check_address_allowed(current, policy)
        hop_headers = dict(headers)
        if credentials and credential_origin(current) == origin:
            hop_headers.update(credentials)
        try:
            response = await session.get(current, headers=hop_headers, allow_redirects=False)
        except AddressRefused as refused:
            raise _refusal(current, refused.host, refused.address, policy) from None
        hops.append(response.headers)
        if response.status in REDIRECT_STATUSES:
            location = response.headers.get("Location")
            response.release()
            if not location:
                raise DownloadError(f"{current}: redirect {response.status} without Location")
            current = urljoin(current, location)
            if urlsplit(current).scheme != urlsplit(url).scheme:
                credentials = {}
            continue
        return response, current, hops
    raise DownloadError(f"{url}: more than {policy.max_redirects} redirects")


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


async def download_to_file(
    url: str,
    dest: str | os.PathLike,
    *,
    policy: FetchPolicy = FetchPolicy(),
    expected_sha256: str | None = None,
    log: Callable[[str], None] | None = None,
    chunk_size: int = 1 << 20,
    verify: Verifier | None = None,
    owner: str | None = None,
) -> DownloadResult:
    """Download `url` to `dest` atomically, resuming a partial file left by an earlier attempt.

    `dest` appears only once the bytes pass every check that applies (`DownloadResult.verified`
    says which): the announced size, the pinned or published sha256, and `verify`, which is given
    the complete file and returns what it checked or raises VerificationError. A body cut short
    with a Content-Length, or in chunked encoding, is a broken transfer: the partial file is kept
    and the next attempt resumes it. A body that ends when the server closes the connection (no
    Content-Length, not chunked) can be cut without any sign at the HTTP level: only a hash or
    `verify` can catch that, so pass `verify` for sources that may send such bodies.

    `owner` describes this writer to a concurrent download of the same file (`describe_owner`).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with download_lock(dest, owner):
        return await _download_locked(url, dest, policy, expected_sha256, log, chunk_size, verify)


async def _download_locked(url, dest, policy, expected_sha256, log, chunk_size, verify) -> DownloadResult:
    part = partial_path(dest)
    label = f"{dest.name} from {url}"
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    async with policy_session(policy) as session:
        try:
            response, final_url, hops = await open_following_redirects(session, url, headers, policy)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DownloadError(f"{url}: {type(exc).__name__}: {exc}", retryable=True) from exc
        async with response:
            total, total_source = await _prepare_partial(url, response, part, have)
            announced = Announced(total, total_source, *published_sha256(hops))
            check_announced_sha256(part, label=label, announced=announced, expected_sha256=expected_sha256)
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
                # A payload error covers a body cut short of its Content-Length or of its last
                # chunk: the bytes so far are sound, so they are kept for the next attempt.
                raise DownloadError(
                    f"{url}: connection broke after {size} bytes ({type(exc).__name__}: {exc}); "
                    "the partial file is kept and the next attempt resumes it", retryable=True,
                ) from exc
    sha256 = digest.hexdigest()
    # Every byte came in this one transfer, as long as the server said: its bytes, not a cut.
    whole = resumed_from == 0 and total is not None and size == total
    try:
        verified = await asyncio.to_thread(
            finish_partial, part, dest, label=label, size=size, sha256=sha256, announced=announced,
            expected_sha256=expected_sha256, verify=verify, retryable=not whole,
        )
    except VerificationError as exc:
        if not whole:
            raise
        raise VerificationError(
            f"{exc}. The server sent this body whole ({size:,} bytes, as its {total_source} said), so "
            "trying again would get the same bytes: not retried; fix the source or point the setting "
            "at a sound copy", retryable=False) from None
    progress.finish()
    if log is not None:
        log(f"{dest.name}: verified: {'; '.join(verified)}" if verified else
            f"{dest.name}: not verified: the server announced no size or hash and no check was given")
    return DownloadResult(dest, size, sha256, resumed_from, final_url, verified)


async def _prepare_partial(
    url: str, response: aiohttp.ClientResponse, part: Path, have: int
) -> tuple[int | None, str]:
    """Check the status; truncate the partial file when the server restarts from zero.

    Returns the full size of the resource when the server says it, and the header that said it.
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
        return (None, "") if match.group(3) == "*" else (int(match.group(3)), "Content-Range total")
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
    return (int(length), "Content-Length") if length is not None and length.isdigit() else (None, "")


def download_file_sync(url: str, dest: str | os.PathLike, **kwargs) -> DownloadResult:
    """`download_to_file` for callers without an event loop; takes the same keyword arguments."""
    return asyncio.run(download_to_file(url, dest, **kwargs))
