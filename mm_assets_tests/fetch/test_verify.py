"""A bad download never becomes a file: cut bodies, error pages, wrong hashes, wrong sizes.

Real aiohttp servers on loopback (and one raw HTTP server, for a body that ends when the
connection closes, which aiohttp's server never sends to an HTTP/1.1 client).
"""

import asyncio
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mm_assets.common.locks import lock_path_for
from mm_assets.fetch.http import DownloadError, FetchPolicy, download_to_file, partial_path
from mm_assets.fetch.sources import fetch_file
from mm_assets.fetch.verify import VerificationError, verify_existing

ALLOW = FetchPolicy(allow_private=True, read_timeout_s=2.0)


def make_tar(members: int = 40) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for number in range(members):
            data = hashlib.sha256(str(number).encode()).digest() * 500
            info = tarfile.TarInfo(f"member{number:03d}.bin")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


TAR = make_tar()
TAR_SHA = hashlib.sha256(TAR).hexdigest()
WRONG_SHA = "ab" * 32
HTML = b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body>busy</body></html>\n"


def tar_verify(path: Path) -> str:
    """A tar is whole when its members are followed by the end-of-archive marker (two zero blocks)."""
    count = 0
    try:
        with tarfile.open(path, "r:") as archive:
            for _ in archive:
                count += 1
            end = archive.offset
    except tarfile.TarError as exc:
        raise VerificationError(f"tar archive unreadable after {count} members ({exc})") from exc
    with open(path, "rb") as handle:
        handle.seek(end)
        if handle.read(1024) != bytes(1024):
            raise VerificationError(f"no end-of-archive marker after {count} members, at byte {end:,}")
    return f"tar read to its end-of-archive marker, {count} members"


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
async def server(tmp_path):
    served = tmp_path / "served.tar"
    served.write_bytes(TAR)
    requests = []

    async def tar(request):
        requests.append(request.path)
        return web.FileResponse(served)

    async def html(request):
        return web.Response(body=HTML, content_type="text/html")

    def redirect_with(**headers):
        async def handler(request):
            return web.Response(status=302, headers={"Location": "/cdn", **headers})
        return handler

    async def cdn(request):  # like a CDN: an S3-style etag that is no sha256
        requests.append(request.path)
        response = web.FileResponse(served)
        response.headers["ETag"] = '"0123456789abcdef0123456789abcdef"'
        return response

    def tar_with_etag(etag):
        async def handler(request):
            return web.Response(body=TAR, headers={"ETag": etag})
        return handler

    async def cut_chunked_once(request):
        if "Range" in request.headers:
            return web.FileResponse(served)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(TAR[: len(TAR) // 2])
        request.transport.close()
        return response

    async def short_range(request):  # a 206 that stops short of the total it announces
        start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
        end = start + 1000
        return web.Response(status=206, body=TAR[start:end],
                            headers={"Content-Range": f"bytes {start}-{end - 1}/{len(TAR)}"})

    app = web.Application()
    app.router.add_get("/tar", tar)
    app.router.add_get("/html", html)
    app.router.add_get("/cdn", cdn)
    app.router.add_get("/hub-wrong", redirect_with(**{"X-Linked-ETag": f'"{WRONG_SHA}"'}))
    app.router.add_get("/hub-right", redirect_with(**{"X-Linked-ETag": f'"{TAR_SHA}"', "ETag": f'"{TAR_SHA}"'}))
    app.router.add_get("/etag-wrong", tar_with_etag(f'"{WRONG_SHA}"'))
    app.router.add_get("/etag-weak", tar_with_etag(f'W/"{WRONG_SHA}"'))
    app.router.add_get("/cut-chunked", cut_chunked_once)
    app.router.add_get("/short-range", short_range)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield lambda path: str(test_server.make_url(path)), requests
    await test_server.close()


@pytest.fixture
async def close_delimited_server():
    """Answers with a body that ends when the connection closes (no Content-Length, not chunked),
    cut to half the tar: nothing at the HTTP level says it is short."""

    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nConnection: close\r\n\r\n")
        writer.write(TAR[: len(TAR) // 2])
        await writer.drain()
        writer.close()

    tcp = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/subsets/urlsf_subset00.tar"
    tcp.close()
    await tcp.wait_closed()


async def test_sound_download_records_every_check(server, tmp_path):
    url, _ = server
    result = await download_to_file(url("/tar"), tmp_path / "a.tar", policy=ALLOW, verify=tar_verify)
    assert result.verified == (f"size {len(TAR)} = Content-Length", "tar read to its end-of-archive marker, 40 members")
    assert files_in(tmp_path) == ["a.tar", "served.tar"]  # no partial, no lock file


async def test_html_error_page_where_a_tar_was_expected_is_removed(server, tmp_path):
    url, _ = server
    dest = tmp_path / "urlsf_subset00.tar"
    with pytest.raises(VerificationError) as err:
        await download_to_file(url("/html"), dest, policy=ALLOW, verify=tar_verify)
    message = str(err.value)
    assert message.startswith(f"urlsf_subset00.tar from {url('/html')}: an HTML page (")
    assert "starts with '<!DOCTYPE html>'" in message and "the server answered with an error page" in message
    assert "the file was removed and the next run fetches it again" in message
    # served whole (98 bytes = its Content-Length): the same bytes again on a retry, so none
    assert message.endswith("The server sent this body whole (98 bytes, as its Content-Length said), so trying "
                            "again would get the same bytes: not retried; fix the source or point the setting at "
                            "a sound copy")
    assert not err.value.retryable
    assert files_in(tmp_path) == ["served.tar"]


async def test_body_cut_in_chunked_encoding_is_kept_and_resumed(server, tmp_path):
    url, _ = server
    dest = tmp_path / "x.tar"
    with pytest.raises(DownloadError, match="resumes") as err:
        await download_to_file(url("/cut-chunked"), dest, policy=ALLOW, verify=tar_verify)
    assert err.value.retryable and not dest.exists()
    kept = partial_path(dest).stat().st_size
    assert 0 < kept < len(TAR)
    result = await download_to_file(url("/cut-chunked"), dest, policy=ALLOW, verify=tar_verify)
    assert result.resumed_from == kept and dest.read_bytes() == TAR
    assert result.verified == (f"size {len(TAR)} = Content-Range total", "tar read to its end-of-archive marker, 40 members")


async def test_body_cut_by_a_closed_connection_is_caught_by_verify(close_delimited_server, tmp_path):
    dest = tmp_path / "urlsf_subset00.tar"
    with pytest.raises(VerificationError) as err:
        await download_to_file(close_delimited_server, dest, policy=ALLOW, verify=tar_verify)
    message = str(err.value)
    assert "a tar archive (" in message and "unreadable after 21 members (unexpected end of data)" in message
    assert message.endswith("fetches it again")
    assert err.value.retryable and files_in(tmp_path) == []


async def test_body_cut_by_a_closed_connection_without_checks_says_nothing_was_verified(
        close_delimited_server, tmp_path):
    """Nothing can see this cut; the record says so, so that callers can pass `verify`."""
    logged = []
    result = await download_to_file(close_delimited_server, tmp_path / "x.tar", policy=ALLOW, log=logged.append)
    assert result.size == len(TAR) // 2 and result.verified == ()
    assert any("not verified" in line for line in logged)


async def test_wrong_x_linked_etag_on_a_redirect_hop_fails_and_removes_the_file(server, tmp_path):
    url, _ = server
    dest = tmp_path / "x.tar"
    with pytest.raises(VerificationError) as err:
        await download_to_file(url("/hub-wrong"), dest, policy=ALLOW)
    message = str(err.value)
    assert (f"sha256 mismatch: the server's X-Linked-ETag says {WRONG_SHA}, the bytes hash to {TAR_SHA} "
            "and are a tar archive (") in message
    assert "fetches it again" in message and "sent this body whole" in message and not err.value.retryable
    assert files_in(tmp_path) == ["served.tar"]


async def test_wrong_etag_fails_and_a_weak_etag_is_no_hash(server, tmp_path):
    url, _ = server
    with pytest.raises(VerificationError, match=f"the server's ETag says {WRONG_SHA}"):
        await download_to_file(url("/etag-wrong"), tmp_path / "a", policy=ALLOW)
    result = await download_to_file(url("/etag-weak"), tmp_path / "b", policy=ALLOW)
    assert result.verified == (f"size {len(TAR)} = Content-Length",)


async def test_correct_x_linked_etag_is_verified_and_recorded(server, tmp_path):
    url, requests = server
    result = await download_to_file(url("/hub-right"), tmp_path / "x.tar", policy=ALLOW, verify=tar_verify)
    assert result.final_url.endswith("/cdn") and result.sha256 == TAR_SHA
    assert result.verified == (
        f"size {len(TAR)} = Content-Length", "tar read to its end-of-archive marker, 40 members",
        "sha256 = X-Linked-ETag",  # the CDN's 32-hex ETag was no hash
    )
    pinned = await download_to_file(url("/hub-right"), tmp_path / "y.tar", policy=ALLOW, expected_sha256=TAR_SHA)
    assert pinned.verified[-1] == "sha256 = expected_sha256 (pinned) = X-Linked-ETag"


async def test_pin_that_disagrees_with_the_published_hash_names_both(server, tmp_path):
    url, _ = server
    dest = tmp_path / "x.tar"
    partial_path(dest).write_bytes(TAR[:5000])  # of that other version: not worth keeping
    with pytest.raises(VerificationError) as err:
        await download_to_file(url("/hub-right"), dest, policy=ALLOW, expected_sha256=WRONG_SHA)
    assert WRONG_SHA in str(err.value) and TAR_SHA in str(err.value) and "X-Linked-ETag" in str(err.value)
    assert not err.value.retryable and files_in(tmp_path) == ["served.tar"]


async def test_pinned_mismatch_stays_not_retryable(server, tmp_path):
    url, _ = server
    with pytest.raises(VerificationError, match=r"expected .* \(pinned\)") as err:
        await download_to_file(url("/tar"), tmp_path / "x.tar", policy=ALLOW, expected_sha256=WRONG_SHA)
    assert not err.value.retryable and files_in(tmp_path) == ["served.tar"]


async def test_size_short_of_the_announced_total_is_removed(server, tmp_path):
    url, _ = server
    dest = tmp_path / "x.tar"
    partial_path(dest).write_bytes(TAR[:4000])
    with pytest.raises(VerificationError) as err:
        await download_to_file(url("/short-range"), dest, policy=ALLOW)
    assert (f"x.tar from {url('/short-range')}: truncated: got 5,000 of {len(TAR):,} bytes announced by "
            "the server's Content-Range total") in str(err.value)
    assert err.value.retryable and files_in(tmp_path) == ["served.tar"]


def test_local_mirror_file_that_fails_verify_leaves_nothing(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "subsets").mkdir(parents=True)
    (mirror / "subsets" / "urlsf_subset00.tar").write_bytes(HTML)
    (mirror / "subsets" / "urlsf_subset01.tar").write_bytes(TAR)
    out = tmp_path / "out"
    with pytest.raises(VerificationError) as err:
        fetch_file(str(mirror), "subsets/urlsf_subset00.tar", out / "urlsf_subset00.tar", verify=tar_verify)
    assert "an HTML page" in str(err.value) and str(mirror) in str(err.value)
    assert not err.value.retryable  # the mirror's file will be just as bad next time
    assert files_in(out) == []
    result = fetch_file(str(mirror), "subsets/urlsf_subset01.tar", out / "urlsf_subset01.tar",
                        verify=tar_verify, expected_sha256=TAR_SHA)
    assert result.verified == ("tar read to its end-of-archive marker, 40 members", "sha256 = expected_sha256 (pinned)")
    assert files_in(out) == ["urlsf_subset01.tar"]


def test_verify_existing_removes_a_bad_kept_file_and_passes_a_good_one(tmp_path):
    bad = tmp_path / "urlsf_subset00.tar"
    bad.write_bytes(TAR[: len(TAR) // 2])
    with pytest.raises(VerificationError) as err:
        verify_existing(bad, verify=tar_verify)
    assert str(bad) in str(err.value) and "unreadable after 21 members" in str(err.value)
    assert "fetches it again" in str(err.value) and not bad.exists()
    good = tmp_path / "urlsf_subset01.tar"
    good.write_bytes(TAR)
    assert verify_existing(good, expected_sha256=TAR_SHA, verify=tar_verify) == (
        "tar read to its end-of-archive marker, 40 members", "sha256 = expected_sha256 (pinned)")
    with pytest.raises(VerificationError, match="sha256 mismatch"):
        verify_existing(good, expected_sha256=WRONG_SHA)
    assert not good.exists() and not lock_path_for(good).exists()
