"""MM_RAW_FILES: an image zip goes once its folder is extracted and proved; a rerun does not fetch
it again (requests counted on a loopback server); the folder's check still finds a damaged image."""

import collections

import dagster as dg
import pytest
from aiohttp import web

from mm_assets.common.released import read_release
from mm_assets.defs.coco.resources import CocoSource
from mm_assets.defs.shared.resources import HttpResource, StorageResource
from mm_assets_tests.helpers import LoopbackServer, check_results, materialize, run_checks

IMAGES = ["coco_train2014_zip", "coco_val2014_zip", "coco_images"]


@pytest.fixture
def counted_mirror(coco_vg_mirror):
    """The COCO mirror over HTTP; `requests[path]` counts the GETs of each file."""
    requests: collections.Counter = collections.Counter()

    @web.middleware
    async def count(request, handler):
        if request.method == "GET":
            requests[request.path] += 1
        return await handler(request)

    app = web.Application(middlewares=[count])
    app.router.add_static("/coco", coco_vg_mirror["MM_COCO_URL"])
    with LoopbackServer(app) as server:
        yield server, requests


def _resources(server, root, raw_files="release"):
    return {"storage": StorageResource(data_root=str(root), raw_files=raw_files),
            "http": HttpResource(allow_private="1"), "coco_source": CocoSource(url=server.url("coco"))}


def _zip_gets(requests):
    return sum(n for path, n in requests.items() if path.endswith("2014.zip"))


def test_a_released_zip_is_not_fetched_again_and_the_check_still_proves_the_images(counted_mirror, tmp_path):
    server, requests = counted_mirror
    resources = _resources(server, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    first = materialize(IMAGES, instance=instance, **resources)
    raw = tmp_path / "coco" / "raw" / "zips" / "train2014.zip"
    assert not raw.exists()
    record = read_release(raw)
    assert record is not None and record.sha256 == first.asset_materializations_for_node(
        "coco_train2014_zip")[0].metadata["sha256"].value
    assert first.asset_materializations_for_node("coco_images")[0].metadata["train2014_raw_file_released"].value
    assert check_results(first)["images_match_zip_crcs"].passed
    fetched = _zip_gets(requests)
    assert fetched == 2

    again = materialize(IMAGES, instance=instance, **resources)
    assert _zip_gets(requests) == fetched  # nothing downloaded again
    metadata = again.asset_materializations_for_node("coco_train2014_zip")[0].metadata
    assert metadata["released"].value and metadata["sha256"].value == record.sha256
    assert "released" in again.asset_materializations_for_node("coco_images")[0].metadata["train2014_state"].value

    image = sorted((tmp_path / "coco" / "images" / "train2014").rglob("*.jpg"))[2]
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 0xFF
    image.write_bytes(bytes(data))
    damaged = check_results(run_checks("coco_images", instance=instance, **resources))["images_match_zip_crcs"]
    assert not damaged.passed and image.name in damaged.metadata["problems"].text

    image.unlink()
    missing = check_results(run_checks("coco_images", instance=instance, **resources))["images_match_zip_crcs"]
    assert not missing.passed and f"{image.name}: missing" in missing.metadata["problems"].text


def test_a_released_zip_is_fetched_again_once_its_folder_is_gone(counted_mirror, tmp_path):
    import shutil

    server, requests = counted_mirror
    resources = _resources(server, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    materialize(IMAGES, instance=instance, **resources)
    shutil.rmtree(tmp_path / "coco" / "images" / "train2014")
    before = requests["/coco/zips/train2014.zip"]
    result = materialize(IMAGES, instance=instance, **resources)
    assert requests["/coco/zips/train2014.zip"] == before + 1
    assert not result.asset_materializations_for_node("coco_train2014_zip")[0].metadata["released"].value
    assert check_results(result)["images_match_zip_crcs"].passed


def test_keep_leaves_the_zips(counted_mirror, tmp_path):
    server, _ = counted_mirror
    materialize(IMAGES, **_resources(server, tmp_path, raw_files="keep"))
    assert (tmp_path / "coco" / "raw" / "zips" / "train2014.zip").is_file()
    assert read_release(tmp_path / "coco" / "raw" / "zips" / "train2014.zip") is None
