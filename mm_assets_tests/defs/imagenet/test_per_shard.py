"""ImageNet per shard through Dagster: a failed shard is redone alone, a released raw shard is not
fetched again while its images are intact (requests counted on a loopback hub), and the per-shard
check still fails on a damaged image."""

import dagster as dg
import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.imagenet.index import build_index
from mm_assets.datasets.imagenet.paths import ImagenetPaths
from mm_assets.datasets.imagenet.shards import listed_files, shard_list
from mm_assets.datasets.imagenet.synsets import parse_image_name
from mm_assets.defs.imagenet.resources import ImagenetSource
from mm_assets.defs.shared.resources import HttpResource, SettingError, StorageResource
from mm_assets_tests.helpers import LoopbackServer, check_results, materialize, run_checks
from mm_assets_tests.hub_server import REPO, LoopbackHubHttp, hub_app

SHARDS = ["train-00000-of-00002", "train-00001-of-00002", "validation-00000-of-00001"]
SHARD_ASSETS = ["imagenet_raw", "imagenet_images"]


def _meta(result, asset):
    return {key: value.value for key, value in result.asset_materializations_for_node(asset)[0].metadata.items()}


def _files_of(paths, name):
    """(inode, mtime_ns) of the shard's part and of each image it wrote."""
    part = pq.read_table(paths.part(name))
    files = [paths.part(name)] + [paths.data_root / p for p in part.column("path").to_pylist()]
    return {str(f): (f.stat().st_ino, f.stat().st_mtime_ns) for f in files}


def _image_checks(instance, storage, name):
    return check_results(run_checks("imagenet_images", partition_key=name, instance=instance, storage=storage))


def test_a_failed_shard_is_redone_alone(imagenet_mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = {"storage": StorageResource(data_root=str(tmp_path / "data")),
                 "imagenet_source": ImagenetSource(url=str(imagenet_mirror))}
    paths = ImagenetPaths(tmp_path / "data" / "imagenet")
    materialize("imagenet_shard_list", instance=instance, **resources)
    failing = SHARDS[1]
    names = [image["path"] for image in
             pq.read_table(imagenet_mirror / "data" / f"{failing}.parquet").column("image").to_pylist()]
    last = parse_image_name(names[-1], "train")
    blocker = paths.image("train", last.synset, last.file_name)
    blocker.mkdir(parents=True)  # a directory where the shard's last image goes: its extraction fails there
    outcomes = {}
    for key in SHARDS:
        result = materialize(SHARD_ASSETS, partition_key=key, instance=instance, raise_on_error=False, **resources)
        outcomes[key] = result.success
    assert outcomes == {SHARDS[0]: True, SHARDS[1]: False, SHARDS[2]: True}
    assert not paths.part(failing).exists() and paths.raw_shard(failing).is_file()  # not released
    assert len(list(paths.split_dir("train").rglob("*.JPEG"))) > 9  # it had written some images
    before = {key: _files_of(paths, key) for key in (SHARDS[0], SHARDS[2])}

    blocker.rmdir()
    extracted = {}
    for key in SHARDS:  # the backfill again, every partition
        extracted[key] = _meta(materialize(SHARD_ASSETS, partition_key=key, instance=instance, **resources),
                               "imagenet_images")["extracted"]
    assert extracted == {SHARDS[0]: False, SHARDS[1]: True, SHARDS[2]: False}
    assert {key: _files_of(paths, key) for key in (SHARDS[0], SHARDS[2])} == before
    materialize("imagenet_index", instance=instance, **resources)

    # the same bytes as one uninterrupted pass over the same mirror
    shards = shard_list(str(imagenet_mirror), listed_files(str(imagenet_mirror)))
    reference = ImagenetPaths(tmp_path / "reference" / "imagenet")
    for shard in shards.shards:
        reference.raw_shard(shard.name).parent.mkdir(parents=True, exist_ok=True)
        reference.raw_shard(shard.name).write_bytes((imagenet_mirror / shard.hub_path).read_bytes())
    build_index(shards, reference, workers=1)
    assert paths.index.read_bytes() == reference.index.read_bytes()
    assert paths.dropped.read_bytes() == reference.dropped.read_bytes()


@pytest.fixture
def counted_hub(imagenet_mirror):
    requests = []
    app = hub_app(imagenet_mirror, page_size=3, tokens={"hf_ok": True}, requests=requests)
    with LoopbackServer(app) as server:
        yield server.url(f"datasets/{REPO}/resolve/main"), requests


def _downloads(requests):
    return sorted(path.rsplit("/", 1)[-1] for path, _ in requests if "/resolve/" in path)


def test_a_released_shard_is_not_fetched_again_and_its_check_still_fails_on_a_damaged_image(counted_hub, tmp_path):
    source, requests = counted_hub
    instance = dg.DagsterInstance.ephemeral()
    storage = StorageResource(data_root=str(tmp_path))
    resources = {"storage": storage, "imagenet_source": ImagenetSource(url=source),
                 "http": LoopbackHubHttp(hf_token="hf_ok")}
    paths = ImagenetPaths(tmp_path / "imagenet")
    materialize("imagenet_shard_list", instance=instance, **resources)
    for key in SHARDS:
        result = materialize(SHARD_ASSETS, partition_key=key, instance=instance, **resources)
        assert _meta(result, "imagenet_images")["raw_released"] is True
    assert _downloads(requests) == sorted(f"{key}.parquet" for key in SHARDS)
    assert not list(paths.raw_shard(SHARDS[0]).parent.glob("*.parquet"))  # the default: released
    index = materialize("imagenet_index", instance=instance, **resources)
    assert _meta(index, "imagenet_index")["dagster/row_count"] == 29
    checks = check_results(run_checks("imagenet_index", instance=instance, storage=storage))
    assert all(checks[name].passed for name in
               ("labels_agree_with_synsets", "every_row_accounted_for", "folders_match_index")), checks
    for key in SHARDS:
        assert _image_checks(instance, storage, key)["images_match_recorded_hashes"].passed

    requests.clear()
    for key in SHARDS:  # a rerun of every partition: the outputs are intact, nothing is fetched
        result = materialize(SHARD_ASSETS, partition_key=key, instance=instance, **resources)
        assert _meta(result, "imagenet_raw")["released"] is True
        assert _meta(result, "imagenet_images")["extracted"] is False
    assert _downloads(requests) == []

    victim = paths.data_root / pq.read_table(paths.part(SHARDS[2])).column("path")[3].as_py()
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    check = _image_checks(instance, storage, SHARDS[2])["images_match_recorded_hashes"]
    assert not check.passed
    assert f"{paths.relative(victim)}: sha256 differs" in check.metadata["problems"].value
    with pytest.raises(dg.Failure, match=f"materialize imagenet_raw for partition {SHARDS[2]}"):
        materialize("imagenet_images", partition_key=SHARDS[2], instance=instance, **resources)
    result = materialize(SHARD_ASSETS, partition_key=SHARDS[2], instance=instance, **resources)
    assert _downloads(requests) == [f"{SHARDS[2]}.parquet"]  # damaged outputs: fetched again, only that one
    assert _meta(result, "imagenet_raw")["released"] is False
    assert _meta(result, "imagenet_images")["extracted"] is True
    assert _meta(result, "imagenet_images")["images_written"] == 1
    assert _image_checks(instance, storage, SHARDS[2])["images_match_recorded_hashes"].passed
    assert not paths.raw_shard(SHARDS[2]).exists()


def test_keep_leaves_the_raw_shards(imagenet_mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    storage = StorageResource(data_root=str(tmp_path), raw_files="keep")
    resources = {"storage": storage, "imagenet_source": ImagenetSource(url=str(imagenet_mirror)),
                 "http": HttpResource(allow_private="1")}
    materialize("imagenet_shard_list", instance=instance, **resources)
    result = materialize(SHARD_ASSETS, partition_key=SHARDS[0], instance=instance, **resources)
    assert _meta(result, "imagenet_images")["raw_released"] is False
    assert (tmp_path / "imagenet" / "raw" / "data" / f"{SHARDS[0]}.parquet").is_file()


def test_the_raw_files_setting(monkeypatch):
    assert StorageResource().release_raw and not StorageResource(raw_files="keep").release_raw
    monkeypatch.setenv("MM_RAW_FILES", "keep")
    bound = StorageResource.from_env().raw_files
    assert isinstance(bound, dg.EnvVar) and bound.get_value() == "keep"
    with pytest.raises(SettingError, match="MM_RAW_FILES='maybe': expected release .* or keep"):
        StorageResource(raw_files="maybe").check_values()
