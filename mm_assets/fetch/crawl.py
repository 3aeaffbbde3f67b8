"""Crawling many small resources (images) from many hosts, safely, politely and fast.

`Crawler.check(url)` asks whether an image is there (HEAD, then a small ranged GET where the HEAD
answer is not definite); `Crawler.fetch(url)` brings its bytes. Both end in one class of
`mm_assets.fetch.outcomes` for every URL, never an exception for a property of the URL.

Safety: only http and https; every hop (at most `FetchPolicy.max_redirects` redirects, followed
by hand) goes through the address policy, and the resolver that checks an address is the one
whose answer is connected to (`PolicyResolver`), so loopback, private and link-local addresses
are refused after DNS and after each redirect unless the policy allows them. A total time per
URL (every attempt, hop and body together), a connect timeout, and a byte cap. Politeness: at most
`concurrency` URLs in flight and `per_host` URLs per host; a User-Agent naming the
project; `X-Robots-Tag: noai` / `noimageai` respected. The time limit starts only once a URL
holds its host's slot: waiting behind other URLs of a popular host is not the host's slowness,
so a URL's class does not depend on how many run at once. Memory: `crawl_each` streams its input
and holds at most `concurrency` tasks; no cookie jar grows with the hosts seen, and a host's slot
is dropped when no URL of it is in flight.
"""

from __future__ import annotations

import asyncio
import ipaddress
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, TypeVar
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from aiohttp.resolver import DefaultResolver

from mm_assets.fetch.content import describe_content, sniff
from mm_assets.fetch.http import REDIRECT_STATUSES, USER_AGENT, USER_AGENT_TOKEN, FetchPolicy, PolicyResolver
from mm_assets.fetch.outcomes import (
    BAD_URL,
    BLOCKED_ADDRESS,
    HTTP_ERROR,
    NOT_AN_IMAGE,
    OK,
    ROBOTS_REFUSED,
    TOO_LARGE,
    TOO_MANY_REDIRECTS,
    classify_exception,
    is_transient,
)
from mm_assets.fetch.robots import refusing_directive

T = TypeVar("T")
R = TypeVar("R")

SNIFF_BYTES = 4096  # what a ranged check reads: enough to recognise every image format
DEFAULT_MAX_BYTES = 20_000_000


@dataclass(frozen=True)
class CrawlLimits:
    timeout_s: float = 20.0  # total for one URL: every attempt, hop and body
    connect_timeout_s: float = 5.0
    concurrency: int = 256  # URLs in flight
    per_host: int = 16  # URLs in flight per host (by the URL's own host; the connector also caps redirect targets)
    max_bytes: int = DEFAULT_MAX_BYTES
    retries: int = 0  # further attempts after a transient failure (timeout, reset, 5xx, 429)
    retry_wait_s: float = 0.5


@dataclass(frozen=True)
class CrawlResult:
    """What became of one URL. `body` is set by `fetch` when the status is `ok`."""

    url: str
    status: str
    detail: str = ""
    http_status: int | None = None
    final_url: str | None = None
    redirects: int = 0
    content_type: str | None = None
    size: int | None = None  # bytes: the body read, or the size the server announced
    etag: str | None = None
    body: bytes | None = None
    attempts: int = 1


class _Stop(Exception):
    """Ends the crawl of one URL with a class (raised inside, returned as a CrawlResult)."""

    def __init__(self, status: str, detail: str, **fields) -> None:
        super().__init__(detail)
        self.status, self.detail, self.fields = status, detail, fields


class Crawler:
    """One aiohttp session for a crawl; use as `async with Crawler(policy, limits) as crawler`."""

    def __init__(self, policy: FetchPolicy, limits: CrawlLimits = CrawlLimits()) -> None:
        self.policy, self.limits = policy, limits
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        self._host_slots: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    async def __aenter__(self) -> "Crawler":
        resolver = PolicyResolver(self.policy, self.policy.make_resolver() if self.policy.make_resolver
                                  else DefaultResolver())
        # The DNS cache holds only answers the policy resolver passed, so every address connected
        # to was checked; it spares a lookup per connection to the same host.
        connector = aiohttp.TCPConnector(
            resolver=resolver, use_dns_cache=True, ttl_dns_cache=300,
            limit=self.limits.concurrency, limit_per_host=self.limits.per_host,
        )
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.limits.connect_timeout_s,
                                          sock_read=self.limits.timeout_s),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check(self, url: str) -> CrawlResult:
        """Is an image there? HEAD, believed only when definite; else a GET of the first bytes."""
        return await self._with_retries(url, self._check_once)

    async def fetch(self, url: str) -> CrawlResult:
        """The image's bytes as served (status 200), within the byte cap."""
        return await self._with_retries(url, self._fetch_once)

    async def _with_retries(self, url: str, once: Callable[[str], Coroutine]) -> CrawlResult:
        """Attempts share one time budget (`timeout_s`): a retry gets what the earlier attempts left."""
        attempt = 0
        budget = self.limits.timeout_s
        while True:
            attempt += 1
            result, spent = await self._bounded(url, once, budget)
            budget -= spent
            if (attempt > self.limits.retries or not is_transient(result.status, result.http_status)
                    or budget <= 0):
                return replace(result, attempts=attempt)
            await asyncio.sleep(self.limits.retry_wait_s * attempt)

    @asynccontextmanager
    async def _host_slot(self, url: str):
        """One of the `per_host` slots of the URL's host, held for one attempt (none for an unparsable URL)."""
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if host is None:
            yield
            return
        semaphore, users = self._host_slots.setdefault(host, (asyncio.Semaphore(self.limits.per_host), [0]))
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._host_slots[host]

    async def _bounded(self, url: str, once: Callable[[str], Coroutine], budget: float) -> tuple[CrawlResult, float]:
        """One attempt within `budget` seconds, counted from when the URL holds its host's slot;
        returns its result and the seconds it took."""
        loop = asyncio.get_running_loop()
        started = None
        try:
            async with self._host_slot(url):
                started = loop.time()
                async with asyncio.timeout(budget):
                    result = await once(url)
        except _Stop as stop:
            result = CrawlResult(url, stop.status, stop.detail, **stop.fields)
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised when it is a bug
            status, detail = classify_exception(exc)
            if status == "timeout":
                detail = f"no complete answer within {self.limits.timeout_s:g} s (every attempt together)"
            result = CrawlResult(url, status, detail)
        return result, (loop.time() - started if started is not None else 0.0)

    async def _check_once(self, url: str) -> CrawlResult:
        response, final_url, redirects = await self._follow("HEAD", url, self._headers)
        async with response:
            _refuse_by_robots(response, final_url, redirects)
            length = _content_length(response)
            content_type = response.headers.get("Content-Type")
            common = dict(http_status=response.status, final_url=final_url, redirects=redirects,
                          content_type=content_type, etag=response.headers.get("ETag"))
            if response.status in (404, 410):  # gone: a GET would say the same
                return CrawlResult(url, HTTP_ERROR, f"HTTP {response.status}", **common)
            definite = (response.status == 200 and (content_type or "").lower().startswith("image/")
                        and length is not None and length > 0)
            if definite:
                self._refuse_size(length, common)
                return CrawlResult(url, OK, "HEAD", size=length, **common)
        # HEAD refused, or an answer that may not hold for GET: look at the first bytes.
        headers = {**self._headers, "Range": f"bytes=0-{SNIFF_BYTES - 1}"}
        response, final_url, redirects = await self._follow("GET", url, headers)
        async with response:
            _refuse_by_robots(response, final_url, redirects)
            common = dict(http_status=response.status, final_url=final_url, redirects=redirects,
                          content_type=response.headers.get("Content-Type"),
                          etag=response.headers.get("ETag"))
            if response.status not in (200, 206):
                return CrawlResult(url, HTTP_ERROR, f"HTTP {response.status}", **common)
            size = _full_size(response)
            self._refuse_size(size, common)
            head = await _read_up_to(response, SNIFF_BYTES)
        kind = sniff(head)
        if kind.image_extension is None:
            return CrawlResult(url, NOT_AN_IMAGE, describe_content(head, size or len(head)), size=size, **common)
        return CrawlResult(url, OK, f"GET: {kind.name}", size=size, **common)

    async def _fetch_once(self, url: str) -> CrawlResult:
        response, final_url, redirects = await self._follow("GET", url, self._headers)
        async with response:
            _refuse_by_robots(response, final_url, redirects)
            common = dict(http_status=response.status, final_url=final_url, redirects=redirects,
                          content_type=response.headers.get("Content-Type"),
                          etag=response.headers.get("ETag"))
            if response.status != 200:
                return CrawlResult(url, HTTP_ERROR, f"HTTP {response.status}", **common)
            self._refuse_size(_content_length(response), common)
            # Read with the cap whatever was announced: a body the server compressed anyway
            # (we ask for identity) is capped after decompression, so a gzip bomb stops at the cap.
            # A body that ends short of its Content-Length or last chunk raises: `truncated`.
            body = await _read_up_to(response, self.limits.max_bytes + 1)
            self._refuse_size(len(body), common)
        return CrawlResult(url, OK, "", size=len(body), body=body, **common)

    def _refuse_size(self, size: int | None, common: dict) -> None:
        if size is not None and size > self.limits.max_bytes:
            raise _Stop(TOO_LARGE, f"{size:,} bytes is more than the cap of {self.limits.max_bytes:,}",
                        size=size, **common)

    async def _follow(
        self, method: str, url: str, headers: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, str, int]:
        """The final response, its URL and the number of redirects; every hop checked first."""
        assert self._session is not None, "use Crawler as an async context manager"
        current = url
        for redirects in range(self.policy.max_redirects + 1):
            target = self._checked_url(current)
            response = await self._session.request(method, target, headers=headers, allow_redirects=False)
            if response.status not in REDIRECT_STATUSES:
                return response, current, redirects
            location = response.headers.get("Location")
            response.release()
            if not location:
                raise _Stop(HTTP_ERROR, f"redirect {response.status} without Location",
                            http_status=response.status, final_url=current, redirects=redirects)
            current = urljoin(current, location)
        raise _Stop(TOO_MANY_REDIRECTS, f"more than {self.policy.max_redirects} redirects",
                    final_url=current, redirects=self.policy.max_redirects + 1)

    def _checked_url(self, url: str) -> yarl.URL:
        """Refuse what is not an http(s) URL with a host, and hosts written as refused addresses."""
        try:
            parsed = yarl.URL(url)
        except (ValueError, TypeError) as exc:
            raise _Stop(BAD_URL, f"unparsable URL: {exc}", final_url=url) from None
        if parsed.scheme not in ("http", "https"):
            raise _Stop(BAD_URL, f"scheme {parsed.scheme!r} is not allowed (http or https only)", final_url=url)
        if not parsed.host:
            raise _Stop(BAD_URL, "no host", final_url=url)
        try:
            address = ipaddress.ip_address(parsed.host.split("%", 1)[0])
        except ValueError:
            return parsed  # a name: checked when it is resolved to connect (PolicyResolver)
        if not self.policy.allows(address):
            raise _Stop(BLOCKED_ADDRESS, f"{parsed.host} is a non-public address", final_url=url)
        return parsed


def _refuse_by_robots(response: aiohttp.ClientResponse, final_url: str, redirects: int) -> None:
    directive = refusing_directive(response.headers.getall("X-Robots-Tag", []), USER_AGENT_TOKEN)
    if directive:
        raise _Stop(ROBOTS_REFUSED, f"X-Robots-Tag: {directive}", http_status=response.status,
                    final_url=final_url, redirects=redirects)


def _content_length(response: aiohttp.ClientResponse) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _full_size(response: aiohttp.ClientResponse) -> int | None:
    """The resource's size from a ranged answer (Content-Range total) or a plain one."""
    if response.status == 206:
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    return _content_length(response)


async def _read_up_to(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    have = 0
    while have < limit:
        chunk = await response.content.read(limit - have)
        if not chunk:
            break
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


async def crawl_each(
    items: Iterable[T], work: Callable[[T], Awaitable[R]], *, concurrency: int
) -> AsyncIterator[tuple[T, R]]:
    """(item, result) of `work(item)` for every item, in completion order.

    `items` is read lazily and at most `concurrency` works run at once, so memory does not grow
    with the input. Completion is signalled through a queue: O(1) per result, however many run.
    """
    loop = asyncio.get_running_loop()
    source = iter(items)
    done: asyncio.Queue = asyncio.Queue()
    running: set[asyncio.Task] = set()

    def start_more() -> None:
        while len(running) < concurrency:
            try:
                item = next(source)
            except StopIteration:
                return
            task = loop.create_task(work(item))
            running.add(task)
            task.add_done_callback(lambda t, item=item: done.put_nowait((item, t)))

    start_more()
    try:
        while running:
            item, task = await done.get()
            running.discard(task)
            start_more()
            yield item, task.result()
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)

