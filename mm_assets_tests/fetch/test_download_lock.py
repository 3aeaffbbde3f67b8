"""One download of a file at a time, and no lock file left behind, whatever the outcome."""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mm_assets.common.locks import exclusive_lock, lock_path_for
from mm_assets.fetch.http import DownloadError, FetchPolicy, download_to_file
from mm_assets.fetch.sources import fetch_file

ALLOW = FetchPolicy(allow_private=True, read_timeout_s=2.0)


@pytest.fixture
async def base_url():
    async def file(request):
        return web.Response(body=b"payload")

    app = web.Application()
    app.router.add_get("/file", file)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/"))
    await server.close()


async def test_a_concurrent_download_fails_retryably_naming_the_holder(base_url, tmp_path):
    dest = tmp_path / "x.bin"
    with exclusive_lock(lock_path_for(dest), owner="run 1a2b3c (pid 1 on host a)", what=dest.name):
        with pytest.raises(DownloadError) as err:
            await download_to_file(base_url + "file", dest, policy=ALLOW)
    assert err.value.retryable
    assert "x.bin is being written by run 1a2b3c (pid 1 on host a)" in str(err.value)
    assert list(tmp_path.iterdir()) == []


async def test_no_lock_file_remains_after_success_or_failure(base_url, tmp_path):
    await download_to_file(base_url + "file", tmp_path / "ok", policy=ALLOW)
    with pytest.raises(DownloadError, match="HTTP 404"):
        await download_to_file(base_url + "missing", tmp_path / "missing", policy=ALLOW)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        await download_to_file(base_url + "file", tmp_path / "bad", policy=ALLOW, expected_sha256="0" * 64)
    assert [p.name for p in tmp_path.iterdir()] == ["ok"]


def test_a_local_copy_takes_the_same_lock(tmp_path):
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "x.bin").write_bytes(b"payload")
    dest = tmp_path / "out" / "x.bin"
    dest.parent.mkdir()
    with exclusive_lock(lock_path_for(dest), owner="another run", what=dest.name):
        with pytest.raises(DownloadError, match="being written by another run") as err:
            fetch_file(str(tmp_path / "mirror"), "x.bin", dest)
    assert err.value.retryable
    fetch_file(str(tmp_path / "mirror"), "x.bin", dest)
    assert [p.name for p in dest.parent.iterdir()] == ["x.bin"]
