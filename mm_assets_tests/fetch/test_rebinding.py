"""The address that passed the policy is the address connected to (no DNS rebinding).

127.0.0.2 plays a public host and 127.0.0.1 an internal one, both on the same port; a scripted DNS
answers the public address first and the internal one afterwards, as a rebinding attacker would.
"""

import ipaddress
import socket

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer

from mm_assets.fetch.http import DownloadError, FetchPolicy, download_to_file

PUBLIC, INTERNAL = "127.0.0.2", "127.0.0.1"
HOST = "files.example.test"
PAYLOAD = b"innocuous bytes" * 1000


class ScriptedDns(AbstractResolver):
    """Answers `answers[i]` to the i-th query (the last one thereafter) and records the queries."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.queries: list[str] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        address = self.answers[min(len(self.queries), len(self.answers) - 1)]
        self.queries.append(host)
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self):
        pass


def public_only(dns: ScriptedDns) -> FetchPolicy:
    return FetchPolicy(
        address_allowed=lambda address: address == ipaddress.ip_address(PUBLIC),
        make_resolver=lambda: dns, read_timeout_s=2.0,
    )


@pytest.fixture
async def hosts():
    """(port, requests seen by the public host, requests seen by the internal host)."""
    seen = {PUBLIC: [], INTERNAL: []}

    def app_for(address):
        async def file(request):
            seen[address].append(request.path)
            return web.Response(body=PAYLOAD)

        async def hop(request):  # a redirect that closes its connection: the next hop reconnects
            seen[address].append(request.path)
            response = web.Response(status=302, headers={"Location": "/file"})
            response.force_close()
            return response

        app = web.Application()
        app.router.add_get("/file", file)
        app.router.add_get("/hop", hop)
        return app

    internal = TestServer(app_for(INTERNAL), host=INTERNAL)
    await internal.start_server()
    public = TestServer(app_for(PUBLIC), host=PUBLIC, port=internal.port)
    await public.start_server()
    yield internal.port, seen[PUBLIC], seen[INTERNAL]
    await public.close()
    await internal.close()


async def test_checking_one_answer_and_connecting_with_another_reaches_the_internal_host(hosts):
    """The pattern the download code used to follow, replayed: check the address one resolution
    gives, then let aiohttp resolve again to connect. This is what the tests below guard against."""
    port, _, internal_seen = hosts
    dns = ScriptedDns(PUBLIC, INTERNAL)
    checked = (await dns.resolve(HOST, port))[0]["host"]
    assert public_only(dns).allows(ipaddress.ip_address(checked))
    connector = aiohttp.TCPConnector(resolver=dns, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(f"http://{HOST}:{port}/file") as response:
            assert await response.read() == PAYLOAD
    assert internal_seen == ["/file"]


async def test_the_checked_answer_is_the_one_connected_to(hosts, tmp_path):
    port, public_seen, internal_seen = hosts
    dns = ScriptedDns(PUBLIC, INTERNAL)
    result = await download_to_file(f"http://{HOST}:{port}/file", tmp_path / "x", policy=public_only(dns))
    assert (tmp_path / "x").read_bytes() == PAYLOAD and result.size == len(PAYLOAD)
    assert dns.queries == [HOST]  # one query for the one connection: no second answer to use
    assert public_seen == ["/file"] and internal_seen == []


async def test_every_new_connection_is_checked_again(hosts, tmp_path):
    port, public_seen, internal_seen = hosts
    dns = ScriptedDns(PUBLIC, INTERNAL)
    with pytest.raises(DownloadError, match="MM_HTTP_ALLOW_PRIVATE") as err:
        await download_to_file(f"http://{HOST}:{port}/hop", tmp_path / "x", policy=public_only(dns))
    assert f"{HOST} resolves to non-public address {INTERNAL}" in str(err.value)
    assert not err.value.retryable
    assert dns.queries == [HOST, HOST]  # the redirect's connection closed: the second hop asked again
    assert public_seen == ["/hop"] and internal_seen == []
    assert list(tmp_path.iterdir()) == []


async def test_a_name_for_loopback_is_refused_with_the_real_resolver(hosts, tmp_path):
    port, _, internal_seen = hosts
    with pytest.raises(DownloadError, match="MM_HTTP_ALLOW_PRIVATE") as err:
        await download_to_file(f"http://localhost:{port}/file", tmp_path / "x", policy=FetchPolicy())
    assert not err.value.retryable and internal_seen == []
