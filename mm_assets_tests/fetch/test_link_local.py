"""MM_HTTP_ALLOW_PRIVATE opens loopback and private addresses, never link-local ones or the cloud
metadata services: those need MM_HTTP_ALLOW_LINK_LOCAL, on every path (download and crawl), after
DNS and on every redirect hop. A loopback server (allowed as private) redirects to the metadata
service; a scripted DNS stands in for names that resolve there. Nothing is ever connected to."""

import ipaddress

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mm_assets.defs.shared.resources import HttpResource
from mm_assets.fetch.crawl import Crawler, CrawlLimits
from mm_assets.fetch.http import DownloadError, FetchPolicy, download_to_file, partial_path
from mm_assets_tests.fetch.test_rebinding import ScriptedDns

METADATA_URL = "http://169.254.169.254/latest/meta-data/"
PRIVATE = FetchPolicy(allow_private=True, read_timeout_s=2.0)
LIMITS = CrawlLimits(timeout_s=2.0, connect_timeout_s=1.0, concurrency=4, per_host=4, max_bytes=100_000)


@pytest.fixture
async def redirector():
    """A loopback server whose /to/<n> answers 302 to the n-th target below."""
    targets = [METADATA_URL, "http://[fe80::1]/", "http://metadata.google.internal/computeMetadata/v1/",
               "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/latest/meta-data/"]
    seen: list[str] = []

    async def to(request):
        seen.append(request.path)
        raise web.HTTPFound(targets[int(request.match_info["n"])])

    app = web.Application()
    app.router.add_get("/to/{n}", to)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield [str(server.make_url(f"/to/{n}")) for n in range(len(targets))], seen
    await server.close()


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.0.1", "fe80::1", "::ffff:169.254.169.254",
                                     "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "fd00:ec2::254", "100.100.100.200"])
def test_private_allows_no_link_local_or_metadata_address(address):
    parsed = ipaddress.ip_address(address)
    assert not PRIVATE.allows(parsed) and not FetchPolicy().allows(parsed)
    assert FetchPolicy(allow_link_local=True).allows(parsed)


def test_private_still_allows_loopback_and_private_ranges():
    for address in ("127.0.0.1", "::1", "10.1.2.3", "192.168.0.7", "fd12::1"):
        assert PRIVATE.allows(ipaddress.ip_address(address)), address


def test_the_settings_map_onto_the_policy():
    assert not HttpResource(allow_private="1").policy().allow_link_local
    assert not HttpResource(allow_private="1").crawl_policy().allow_link_local
    assert HttpResource(allow_link_local="1").policy().allow_link_local
    assert HttpResource(allow_link_local="yes").crawl_policy().allow_link_local


async def test_download_refuses_the_metadata_address_on_every_hop(redirector, tmp_path):
    urls, seen = redirector
    with pytest.raises(DownloadError, match="MM_HTTP_ALLOW_LINK_LOCAL=1") as err:
        await download_to_file(METADATA_URL, tmp_path / "direct", policy=PRIVATE)
    assert "MM_HTTP_ALLOW_PRIVATE=1 does not allow those" in str(err.value)
    for n, url in enumerate(urls):
        with pytest.raises(DownloadError, match="MM_HTTP_ALLOW_LINK_LOCAL=1"):
            await download_to_file(url, tmp_path / f"hop{n}", policy=PRIVATE)
        assert not (tmp_path / f"hop{n}").exists() and not partial_path(tmp_path / f"hop{n}").exists()
    assert seen == [f"/to/{n}" for n in range(len(urls))]  # the loopback hop was allowed, the next was not


async def test_download_refuses_a_name_that_resolves_to_link_local_and_a_metadata_name_before_dns(tmp_path):
    dns = ScriptedDns("169.254.169.254")
    policy = FetchPolicy(allow_private=True, make_resolver=lambda: dns)
    with pytest.raises(DownloadError, match="link-local/metadata address 169.254.169.254"):
        await download_to_file("http://innocent.example.test/x", tmp_path / "a", policy=policy)
    assert dns.queries == ["innocent.example.test"]
    with pytest.raises(DownloadError, match="metadata.google.internal. is a cloud metadata host"):
        await download_to_file("http://metadata.google.internal./computeMetadata/v1/", tmp_path / "b", policy=policy)
    assert dns.queries == ["innocent.example.test"]  # the metadata name was never even looked up


async def test_crawl_refuses_link_local_and_metadata_on_every_hop(redirector):
    urls, _ = redirector
    dns = ScriptedDns("169.254.169.254")
    policy = FetchPolicy(allow_private=True, make_resolver=lambda: dns)
    async with Crawler(policy, LIMITS) as crawler:
        for url in [METADATA_URL, "http://innocent.example.test/a.jpg", "http://metadata.google.internal/", *urls]:
            for result in (await crawler.check(url), await crawler.fetch(url)):
                assert result.status == "blocked_address", (url, result)
    assert dns.queries and set(dns.queries) == {"innocent.example.test"}
