"""owt_raw_slice fetched from a mirror served over HTTP on loopback, as it would be from the hub."""

import dagster as dg
import pytest
from aiohttp import web

from mm_assets.defs.owt.resources import OwtSource
from mm_assets.defs.shared.resources import HttpResource, StorageResource
from mm_assets_tests.helpers import LoopbackServer, materialize


@pytest.fixture
def http_mirror(owt_mirror):
    """Serve the generated mirror from a real aiohttp server, laid out like the hub."""
    app = web.Application()
    app.router.add_static("/datasets/owt/resolve/main", owt_mirror)
    with LoopbackServer(app) as server:
        yield server.url("datasets/owt/resolve/main")


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
