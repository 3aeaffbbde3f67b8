"""The crawler against a real HTTP server on loopback: every class of outcome, the address rules
(after DNS and after each redirect), the caps, and bounded concurrency overall and per host."""

import asyncio
import io
import ipaddress
import socket
import time

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer
from PIL import Image

from mm_assets.fetch.crawl import USER_AGENT, Crawler, CrawlLimits, crawl_each
from mm_assets.fetch.http import FetchPolicy

ALLOW = FetchPolicy(allow_private=True)
LIMITS = CrawlLimits(timeout_s=0.3, connect_timeout_s=1.0, concurrency=16, per_host=16, max_bytes=200_000)


def _jpeg(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


JPEG = _jpeg()
BIG = JPEG + b"\0" * 300_000  # over LIMITS.max_bytes


@pytest.fixture
async def server():
    seen = {"agents": [], "methods": [], "active": 0, "peak": 0}

    async def track(request):
        seen["agents"].append(request.headers.get("User-Agent"))
        seen["methods"].append(request.method)

    async def image(request):
        await track(request)
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def no_head(request):
        await track(request)
        if request.method == "HEAD":
            raise web.HTTPMethodNotAllowed("HEAD", ["GET"])
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def head_says_html(request):  # a HEAD answer that is not definite: the bytes decide
        await track(request)
        return web.Response(body=JPEG, content_type="text/html" if request.method == "HEAD" else "image/jpeg")

    async def html(request):  # an error page announced as an image: only its bytes tell
        return web.Response(body=b"<!DOCTYPE html><html><body>gone</body></html>", content_type="image/jpeg")

    async def html_page(request):
        return web.Response(body=b"<!DOCTYPE html><html><body>gone</body></html>", content_type="text/html")

    async def missing(request):
        raise web.HTTPNotFound()

    async def broken(request):
        raise web.HTTPServiceUnavailable()

    async def slow(request):
        await asyncio.sleep(5)
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def slowly_broken(request):  # a 503 after 0.2 s
        await asyncio.sleep(0.2)
        raise web.HTTPServiceUnavailable()

    async def hop(request):
        left = int(request.match_info["left"])
        raise web.HTTPFound("/image" if left == 0 else f"/hop/{left - 1}")

    async def big(request):
        return web.Response(body=BIG, content_type="image/jpeg")

    async def big_unannounced(request):
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        await response.prepare(request)
        for start in range(0, len(BIG), 65536):
            await response.write(BIG[start:start + 65536])
        return response

    async def cut(request):
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg", "Content-Length": str(len(JPEG))})
        await response.prepare(request)
        if request.method == "GET":
            await response.write(JPEG[: len(JPEG) // 2])
            request.transport.close()
        return response

    async def noai(request):
        return web.Response(body=JPEG, content_type="image/jpeg", headers={"X-Robots-Tag": "noimageai"})

    async def other_bot(request):
        return web.Response(body=JPEG, content_type="image/jpeg", headers={"X-Robots-Tag": "otherbot: noai"})

    async def steady(request):  # answers in 0.1 s, always
        await asyncio.sleep(0.1)
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def counted(request):
        seen["active"] += 1
        seen["peak"] = max(seen["peak"], seen["active"])
        await asyncio.sleep(0.05)
        seen["active"] -= 1
        return web.Response(body=JPEG, content_type="image/jpeg")

    app = web.Application()
    for path, handler in [("/image", image), ("/no-head", no_head), ("/head-says-html", head_says_html),
                          ("/html", html), ("/html-page", html_page), ("/missing", missing), ("/broken", broken), ("/slow", slow),
                          ("/slowly-broken", slowly_broken),
                          ("/hop/{left}", hop), ("/big", big), ("/big-unannounced", big_unannounced),
                          ("/cut", cut), ("/noai", noai), ("/other-bot", other_bot),
                          ("/counted/{n}", counted), ("/steady/{n}", steady)]:
        app.router.add_route("*", path, handler)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield f"http://127.0.0.1:{test_server.port}", seen
    await test_server.close()


async def _check(url, policy=ALLOW, limits=LIMITS):
    async with Crawler(policy, limits) as crawler:
        return await crawler.check(url)


async def _fetch(url, policy=ALLOW, limits=LIMITS):
    async with Crawler(policy, limits) as crawler:
        return await crawler.fetch(url)


async def test_a_definite_head_is_believed_and_names_the_project(server):
    base, seen = server
    result = await _check(f"{base}/image")
    assert (result.status, result.http_status, result.size) == ("ok", 200, len(JPEG))
    assert seen["methods"] == ["HEAD"] and seen["agents"] == [USER_AGENT] and "mm_assets" in USER_AGENT


@pytest.mark.parametrize("path", ["/no-head", "/head-says-html"])
async def test_a_refused_or_doubtful_head_falls_back_to_a_ranged_get(server, path):
    base, seen = server
    result = await _check(base + path)
    assert result.status == "ok" and result.detail.startswith("GET")
    assert seen["methods"] == ["HEAD", "GET"]


@pytest.mark.parametrize("path,status,http_status", [
    ("/missing", "http_error", 404),
    ("/broken", "http_error", 503),
    ("/html-page", "not_an_image", 200),
    ("/noai", "robots_refused", 200),
    ("/big", "too_large", 200),
    ("/hop/6", "too_many_redirects", None),
])
async def test_each_failure_class_of_a_check(server, path, status, http_status):
    result = await _check(server[0] + path)
    assert (result.status, result.http_status) == (status, http_status), result


@pytest.mark.parametrize("path,status", [
    ("/missing", "http_error"), ("/html", "ok"), ("/noai", "robots_refused"), ("/big", "too_large"),
    ("/big-unannounced", "too_large"), ("/cut", "truncated"), ("/hop/6", "too_many_redirects"),
    ("/slow", "timeout"),
])
async def test_each_failure_class_of_a_fetch(server, path, status):
    """(A total time of 0.3 s: a loopback answer takes milliseconds, /slow takes 5 s.)"""
    result = await _fetch(server[0] + path)  # an HTML body is judged by the image rules, not here
    assert result.status == status, result
    assert result.body is None or status == "ok"


async def test_five_redirects_are_followed_and_the_final_url_kept(server):
    result = await _fetch(f"{server[0]}/hop/4")
    assert (result.status, result.redirects, result.body) == ("ok", 5, JPEG)
    assert result.final_url.endswith("/image")


async def test_robots_directives_for_another_crawler_do_not_apply(server):
    assert (await _check(f"{server[0]}/other-bot")).status == "ok"


@pytest.mark.parametrize("url,status", [
    ("ftp://example.com/a.jpg", "bad_url"), ("http:///a.jpg", "bad_url"), ("data:image/png;base64,AAAA", "bad_url"),
    ("http://[::1]:1/a.jpg", "blocked_address"), ("http://10.1.2.3/a.jpg", "blocked_address"),
    ("http://169.254.169.254/latest/meta-data", "blocked_address"),
])
async def test_bad_urls_and_private_addresses_are_refused_before_any_connection(url, status):
    result = await _check(url, policy=FetchPolicy())
    assert result.status == status, result


async def test_loopback_is_refused_unless_allowed_and_nothing_reaches_it(server):
    base, seen = server
    assert (await _fetch(f"{base}/image", policy=FetchPolicy())).status == "blocked_address"
    assert seen["methods"] == []
    assert (await _fetch(f"{base}/image", policy=ALLOW)).status == "ok"


async def test_a_dead_port_is_a_connection_error_and_a_slow_answer_a_timeout(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    assert (await _check(f"http://127.0.0.1:{dead}/x.jpg")).status == "connection_error"
    assert (await _check(f"{server[0]}/slow")).status == "timeout"


class _Dns(AbstractResolver):
    """Names -> addresses for the test; any other name does not exist (as NXDOMAIN)."""

    def __init__(self, table):
        self.table = table

    async def resolve(self, host, port=0, family=socket.AF_INET):
        if host not in self.table:
            raise OSError(socket.EAI_NONAME, f"{host} does not exist")
        return [{"hostname": host, "host": self.table[host], "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self):
        pass


def _public_127_0_0_2(dns):
    """127.0.0.2 plays a public host; 127.0.0.1 an internal one."""
    return FetchPolicy(address_allowed=lambda address: address == ipaddress.ip_address("127.0.0.2"),
                       make_resolver=lambda: dns)


@pytest.fixture
async def public_and_internal():
    """The same app on 127.0.0.2 (public) and 127.0.0.1 (internal), on one port."""
    seen = {"127.0.0.1": [], "127.0.0.2": []}

    def app_for(address):
        async def image(request):
            seen[address].append(request.path)
            return web.Response(body=JPEG, content_type="image/jpeg")

        async def to_internal(request):
            seen[address].append(request.path)
            raise web.HTTPFound(f"http://internal.test:{request.url.port}/image")

        app = web.Application()
        app.router.add_get("/image", image)
        app.router.add_get("/to-internal", to_internal)
        return app

    internal = TestServer(app_for("127.0.0.1"), host="127.0.0.1")
    await internal.start_server()
    public = TestServer(app_for("127.0.0.2"), host="127.0.0.2", port=internal.port)
    await public.start_server()
    yield internal.port, seen
    await public.close()
    await internal.close()


async def test_address_rules_after_dns_and_after_each_redirect(public_and_internal):
    port, seen = public_and_internal
    dns = _Dns({"public.test": "127.0.0.2", "internal.test": "127.0.0.1"})
    policy = _public_127_0_0_2(dns)
    assert (await _fetch(f"http://public.test:{port}/image", policy=policy)).status == "ok"
    refused = await _fetch(f"http://internal.test:{port}/image", policy=policy)
    assert refused.status == "blocked_address" and "127.0.0.1" in refused.detail
    redirected = await _fetch(f"http://public.test:{port}/to-internal", policy=policy)
    assert redirected.status == "blocked_address"
    assert seen == {"127.0.0.2": ["/image", "/to-internal"], "127.0.0.1": []}
    assert (await _check(f"http://nowhere.test:{port}/a.jpg", policy=policy)).status == "dns_failure"


async def test_transient_failures_are_retried_up_to_the_setting(server):
    limits = CrawlLimits(timeout_s=0.3, retries=2, retry_wait_s=0.01)
    result = await _fetch(f"{server[0]}/broken", limits=limits)
    assert (result.status, result.http_status, result.attempts) == ("http_error", 503, 3)
    assert (await _fetch(f"{server[0]}/missing", limits=limits)).attempts == 1  # a 404 is final


async def test_the_attempts_share_one_time_limit(server):
    """MM_HTTP_TIMEOUT_S is the total for one URL: a retry gets what earlier attempts left."""
    limits = CrawlLimits(timeout_s=0.3, retries=3, retry_wait_s=0.01)
    started = time.monotonic()
    slow = await _fetch(f"{server[0]}/slow", limits=limits)
    assert (slow.status, slow.attempts) == ("timeout", 1)  # the first attempt used it all
    assert time.monotonic() - started < 1.0  # not 4 x 0.3 s
    # 0.2 s for a 503, then 0.1 s left: the second attempt times out, no third one
    broken = await _fetch(f"{server[0]}/slowly-broken", limits=limits)
    assert (broken.status, broken.attempts) == ("timeout", 2)


async def test_concurrency_is_bounded_overall_and_per_host(server):
    base, seen = server
    limits = CrawlLimits(timeout_s=5.0, concurrency=12, per_host=3)
    async with Crawler(ALLOW, limits) as crawler:
        results = [r async for _, r in crawl_each([f"{base}/counted/{n}" for n in range(20)],
                                                   crawler.fetch, concurrency=limits.concurrency)]
    assert [r.status for r in results] == ["ok"] * 20
    assert seen["peak"] == 3  # one host: the per-host limit holds


async def test_waiting_for_a_busy_host_is_not_counted_as_its_slowness(server):
    """12 URLs of one host answering in 0.1 s, 2 at a time, 0.4 s each: all of them answer in
    time, whatever the concurrency; the time limit starts when a URL gets its host's slot."""
    base = server[0]
    urls = [f"{base}/steady/{n}" for n in range(12)]
    for concurrency in (1, 12):
        limits = CrawlLimits(timeout_s=0.4, concurrency=concurrency, per_host=2)
        async with Crawler(ALLOW, limits) as crawler:
            results = [r async for _, r in crawl_each(urls, crawler.fetch, concurrency=concurrency)]
            assert [r.status for r in results] == ["ok"] * 12, concurrency
            assert not getattr(crawler, "_host_slots", {})  # a host's slot goes once nothing of it is in flight


async def test_crawl_each_reads_its_input_lazily_and_bounds_what_runs():
    consumed, running, peak = [], [0], [0]

    def items():
        for n in range(300):
            consumed.append(n)
            yield n

    async def work(n):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.001 * (n % 7))  # finish out of order
        running[0] -= 1
        return n * 2

    seen = []
    async for item, result in crawl_each(items(), work, concurrency=8):
        assert result == item * 2
        assert len(consumed) - len(seen) <= 8 + 1  # `concurrency` running, and the one handed over
        seen.append(item)
    assert sorted(seen) == list(range(300)) and seen != list(range(300)) and peak[0] == 8


async def test_a_compressed_body_is_capped_after_decompression():
    """A server that gzips anyway (we ask for identity): 20 MB of zeros in 20 KB of gzip."""
    import gzip

    bomb = gzip.compress(b"\0" * 20_000_000)

    async def handler(request):
        return web.Response(body=bomb, headers={"Content-Type": "image/jpeg", "Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/bomb", handler)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        result = await _fetch(f"http://127.0.0.1:{test_server.port}/bomb")
    finally:
        await test_server.close()
    assert len(bomb) < LIMITS.max_bytes and result.status == "too_large" and result.body is None
