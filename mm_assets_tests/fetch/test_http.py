"""Downloads against a real HTTP server on loopback: resume, redirects, refusals, failures."""

import asyncio
import hashlib
import os
import ssl
import subprocess

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mm_assets.defs.shared.resources import HttpResource
from mm_assets.fetch.http import (
    USER_AGENT,
    DownloadError,
    FetchPolicy,
    credential_origin,
    download_to_file,
    open_following_redirects,
    partial_path,
    policy_session,
)
from mm_assets_tests.fetch.test_rebinding import ScriptedDns

PAYLOAD = os.urandom(3_000_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
ALLOW = FetchPolicy(allow_private=True, read_timeout_s=2.0)


@pytest.fixture
async def server(tmp_path):
    source = tmp_path / "served.bin"
    source.write_bytes(PAYLOAD)
    state = {"truncate_next": True, "requests": []}

    async def file_handler(request):
        state["requests"].append(dict(request.headers))
        return web.FileResponse(source)

    async def truncate_once(request):
        state["requests"].append(dict(request.headers))
        if state["truncate_next"] and "Range" not in request.headers:
            state["truncate_next"] = False
            response = web.StreamResponse(headers={"Content-Length": str(len(PAYLOAD))})
            await response.prepare(request)
            await response.write(PAYLOAD[: len(PAYLOAD) // 3])
            request.transport.close()
            return response
        return web.FileResponse(source)

    async def ignore_range(request):
        return web.Response(body=PAYLOAD)

    async def redirect(request):
        raise web.HTTPFound("/file")

    async def redirect_loop(request):
        raise web.HTTPFound("/loop")

    async def redirect_elsewhere(request):
        raise web.HTTPFound("file:///etc/passwd")

    async def slow(request):
        await asyncio.sleep(5)
        return web.Response(body=b"late")

    async def missing(request):
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/file", file_handler)
    app.router.add_get("/truncate-once", truncate_once)
    app.router.add_get("/ignore-range", ignore_range)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", redirect_loop)
    app.router.add_get("/elsewhere", redirect_elsewhere)
    app.router.add_get("/slow", slow)
    app.router.add_get("/missing", missing)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server, state
    await test_server.close()


def url(server, path):
    return str(server[0].make_url(path))


async def test_plain_download_is_verified_and_atomic(server, tmp_path):
    dest = tmp_path / "out" / "x.bin"
    result = await download_to_file(url(server, "/file"), dest, policy=ALLOW, expected_sha256=SHA)
    assert dest.read_bytes() == PAYLOAD and result.sha256 == SHA and result.resumed_from == 0
    assert not partial_path(dest).exists()
    assert server[1]["requests"][-1]["User-Agent"] == USER_AGENT  # the crawler's too: one for every fetch


async def test_broken_transfer_keeps_partial_and_next_attempt_resumes_with_range(server, tmp_path):
    dest = tmp_path / "x.bin"
    with pytest.raises(DownloadError, match="resumes"):
        await download_to_file(url(server, "/truncate-once"), dest, policy=ALLOW)
    assert not dest.exists()
    kept = partial_path(dest).stat().st_size
    assert 0 < kept < len(PAYLOAD)
    result = await download_to_file(url(server, "/truncate-once"), dest, policy=ALLOW, expected_sha256=SHA)
    assert result.resumed_from == kept and dest.read_bytes() == PAYLOAD
    assert server[1]["requests"][-1]["Range"] == f"bytes={kept}-"


async def test_server_that_ignores_range_restarts_from_zero(server, tmp_path):
    dest = tmp_path / "x.bin"
    partial_path(dest).write_bytes(b"garbage that must not survive")
    result = await download_to_file(url(server, "/ignore-range"), dest, policy=ALLOW, expected_sha256=SHA)
    assert dest.read_bytes() == PAYLOAD and result.resumed_from == 0


async def test_checksum_mismatch_names_file_and_both_hashes_and_leaves_nothing(server, tmp_path):
    dest = tmp_path / "encoder.json"
    wrong = "0" * 64
    with pytest.raises(DownloadError) as err:
        await download_to_file(url(server, "/file"), dest, policy=ALLOW, expected_sha256=wrong)
    assert "encoder.json" in str(err.value) and wrong in str(err.value) and SHA in str(err.value)
    assert not dest.exists() and not partial_path(dest).exists()


async def test_redirect_is_followed_and_loops_are_refused(server, tmp_path):
    result = await download_to_file(url(server, "/redirect"), tmp_path / "a", policy=ALLOW)
    assert result.final_url.endswith("/file")
    with pytest.raises(DownloadError, match="redirects"):
        await download_to_file(url(server, "/loop"), tmp_path / "b", policy=ALLOW)
    with pytest.raises(DownloadError, match="scheme"):
        await download_to_file(url(server, "/elsewhere"), tmp_path / "c", policy=ALLOW)


async def test_loopback_is_refused_unless_allowed(server, tmp_path):
    with pytest.raises(DownloadError, match="MM_HTTP_ALLOW_PRIVATE"):
        await download_to_file(url(server, "/file"), tmp_path / "x", policy=FetchPolicy())
    assert server[1]["requests"] == []  # refused before any connection


async def test_timeout_404_and_size_limit_fail_clearly(server, tmp_path):
    with pytest.raises(DownloadError, match="Timeout"):
        await download_to_file(url(server, "/slow"), tmp_path / "s", policy=FetchPolicy(allow_private=True, read_timeout_s=0.3))
    with pytest.raises(DownloadError, match="HTTP 404"):
        await download_to_file(url(server, "/missing"), tmp_path / "m", policy=ALLOW)
    with pytest.raises(DownloadError, match="limit"):
        await download_to_file(url(server, "/file"), tmp_path / "h", policy=FetchPolicy(allow_private=True, max_bytes=1000))
    assert not (tmp_path / "h").exists() and not partial_path(tmp_path / "h").exists()


async def test_token_goes_to_its_origin_only(server, tmp_path):
    policy = FetchPolicy(allow_private=True,
                         origin_headers={credential_origin(url(server, "/")): {"Authorization": "Bearer secret"}})
    await download_to_file(url(server, "/file"), tmp_path / "t", policy=policy)
    assert server[1]["requests"][-1]["Authorization"] == "Bearer secret"
    other_port = FetchPolicy(allow_private=True, origin_headers={
        credential_origin(url(server, "/")).rsplit(":", 1)[0] + ":1": {"Authorization": "Bearer secret"}})
    await download_to_file(url(server, "/file"), tmp_path / "u", policy=other_port)
    assert "Authorization" not in server[1]["requests"][-1]


HUB = "huggingface.co"


@pytest.fixture
def hub_certificate(tmp_path):
    """A self-signed certificate for huggingface.co, and a client context that trusts it."""
    cert, key = tmp_path / "hub.pem", tmp_path / "hub.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={HUB}",
                    "-addext", f"subjectAltName=DNS:{HUB}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    return server_side, ssl.create_default_context(cafile=str(cert))


async def test_token_never_follows_a_redirect_to_plain_http_even_back_to_the_hub(hub_certificate):
    """https://huggingface.co (a loopback server with TLS, reached through a scripted DNS) redirects
    to http on the same host, which redirects back: only the first hop carries the token."""
    server_side, client_side = hub_certificate
    seen: list[tuple[str, str | None]] = []

    async def record(request):
        seen.append((f"{request.scheme}:{request.path}", request.headers.get("Authorization")))
        if request.path == "/start":
            raise web.HTTPFound(f"http://{HUB}:{plain.port}/down")
        if request.path == "/down":
            raise web.HTTPFound(f"https://{HUB}:{tls.port}/file")
        return web.Response(body=b"payload")

    app = web.Application()
    app.router.add_get("/{name}", record)
    tls, plain = TestServer(app, host="127.0.0.1"), TestServer(app, host="127.0.0.1")
    await tls.start_server(ssl=server_side)
    await plain.start_server()
    tls_port = tls.port
    try:
        start = f"https://{HUB}:{tls_port}/start"
        policy = FetchPolicy(allow_private=True, make_resolver=lambda: ScriptedDns("127.0.0.1"),
                             ssl_context=client_side,
                             origin_headers={credential_origin(start): {"Authorization": "Bearer secret"}})
        async with policy_session(policy) as session:
            response, final, _ = await open_following_redirects(session, start, {}, policy)
            response.release()
    finally:
        await tls.close()
        await plain.close()
    assert final == f"https://{HUB}:{tls_port}/file"
    assert seen == [("https:/start", "Bearer secret"), ("http:/down", None), ("https:/file", None)]


def test_hf_token_goes_only_to_the_hub_over_https_on_port_443():
    http = HttpResource(hf_token="hf_x")
    assert http.policy(f"https://{HUB}/datasets/x/resolve/main").origin_headers == {
        f"https://{HUB}:443": {"Authorization": "Bearer hf_x"}}
    assert http.policy(f"https://cdn-lfs.{HUB}:443/x").origin_headers == {
        f"https://cdn-lfs.{HUB}:443": {"Authorization": "Bearer hf_x"}}
    for elsewhere in (f"http://{HUB}/datasets/x/resolve/main", f"http://{HUB}:443/x", f"https://{HUB}:8443/x",
                      f"https://{HUB}.evil.example/x", f"https://evil{HUB}/x", "https://example.org/mirror"):
        assert http.policy(elsewhere).origin_headers == {}, elsewhere
