"""owt_raw_slice fetched from a mirror served over HTTP on loopback, as it would be from the hub."""

import asyncio
import threading

import dagster as dg
import pytest
from aiohttp import web

from mm_assets.defs.owt.resources import OwtSource
from mm_assets.defs.shared.resources import HttpResource, StorageResource
from mm_assets_tests.conftest import materialize


@pytest.fixture
def http_mirror(owt_mirror):
    """Serve the generated mirror from a real aiohttp server in a background thread."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state = {}

    async def start():
        app = web.Application()
        app.router.add_static("/datasets/owt/resolve/main", owt_mirror)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        state["runner"] = runner
        state["port"] = runner.addresses[0][1]
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    started.wait(10)
    yield f"http://127.0.0.1:{state['port']}/datasets/owt/resolve/main"
    asyncio.run_coroutine_threadsafe(state["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_raw_slice_downloaded_and_reported(http_mirror, owt_mirror, tmp_path):
    result = materialize("owt_raw_slice", partition_key="05", storage=StorageResource(data_root=str(tmp_path)),
                         http=HttpResource(allow_private="1"), owt_source=OwtSource(url=http_mirror))
    stored = tmp_path / "owt" / "raw" / "subsets" / "urlsf_subset05.tar"
    assert stored.read_bytes() == (owt_mirror / "subsets" / "urlsf_subset05.tar").read_bytes()
    metadata = result.asset_materializations_for_node("owt_raw_slice")[0].metadata
    assert metadata["bytes"].value == stored.stat().st_size
    assert metadata["reused_existing_file"].value is False


def test_private_mirror_refused_without_the_setting(http_mirror, tmp_path):
    with pytest.raises(dg.Failure, match="MM_HTTP_ALLOW_PRIVATE") as err:
        materialize("owt_raw_slice", partition_key="05", storage=StorageResource(data_root=str(tmp_path)),
                    http=HttpResource(), owt_source=OwtSource(url=http_mirror))
    assert err.value.allow_retries is False  # a refusal is not retried
    assert not (tmp_path / "owt" / "raw" / "subsets" / "urlsf_subset05.tar").exists()
