"""ImageNet's assets in process: from a mirror folder and from a loopback hub (API listing, gated
downloads), the checks, and the errors for a missing token and a corrupt shard."""

import shutil

import dagster as dg
import pytest

from mm_assets.defs.imagenet.resources import ImagenetSource
from mm_assets.defs.shared.resources import HttpResource, SettingError, StorageResource
from mm_assets_tests.helpers import LoopbackServer, check_results, materialize, run_checks
from mm_assets_tests.hub_server import REPO, LoopbackHubHttp, hub_app

SHARDS = ["train-00000-of-00002", "train-00001-of-00002", "validation-00000-of-00001"]


def _partitions(instance):
    return instance.get_dynamic_partitions("imagenet_shards")


def _all(instance, root, source, http=None, raw_files="release"):
    """As a user would: the shard list, every partition of imagenet_raw and imagenet_images, the index."""
    resources = {"storage": StorageResource(data_root=str(root), raw_files=raw_files),
                 "imagenet_source": ImagenetSource(url=source), "http": http or HttpResource(allow_private="1")}
    materialize("imagenet_shard_list", instance=instance, **resources)
    for key in _partitions(instance):
        materialize(["imagenet_raw", "imagenet_images"], partition_key=key, instance=instance, **resources)
    return materialize("imagenet_index", instance=instance, **resources), resources


def test_from_a_mirror_folder_with_checks(imagenet_mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    result, resources = _all(instance, tmp_path, str(imagenet_mirror))
    assert _partitions(instance) == SHARDS
    meta = result.asset_materializations_for_node("imagenet_index")[0].metadata
    assert (meta["train_images"].value, meta["val_images"].value) == (19, 10)
    assert (meta["train_images_per_class_min"].value, meta["train_images_per_class_max"].value) == (3, 4)
    assert meta["unreadable_images"].value == 1 and meta["dropped_truncated"].value == 1
    assert any("n01751748_10137_n01751748.JPEG" in r.data["hub_name"] for r in meta["unreadable"].records)
    assert meta["label_disagreements"].value == 0 and meta["classes_found"].value == 5
    assert meta["dagster/row_count"].value == 29
    checks = check_results(run_checks("imagenet_index", instance=instance, storage=resources["storage"]))
    assert all(checks[name].passed for name in
               ("labels_agree_with_synsets", "every_row_accounted_for", "folders_match_index")), checks
    official = checks["official_split_sizes"]
    assert not official.passed and official.severity == dg.AssetCheckSeverity.WARN
    (tmp_path / "imagenet" / "train" / "n01440764" / "stray.JPEG").write_bytes(b"x")
    checks = check_results(run_checks("imagenet_index", instance=instance, storage=resources["storage"]))
    assert not checks["folders_match_index"].passed
    assert "1 file(s) in the folders that the index does not hold" in checks["folders_match_index"].metadata["problems"].value


def test_a_new_listing_replaces_stale_partitions(imagenet_mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("imagenet_shards", ["train-00000-of-00009"])
    materialize("imagenet_shard_list", instance=instance, storage=StorageResource(data_root=str(tmp_path)),
                imagenet_source=ImagenetSource(url=str(imagenet_mirror)))
    assert _partitions(instance) == SHARDS


@pytest.fixture
def hub(imagenet_mirror):
    with LoopbackServer(hub_app(imagenet_mirror, page_size=3, tokens={"hf_ok": True, "hf_new": False})) as server:
        yield server.url(f"datasets/{REPO}/resolve/main")


def test_from_the_hub_with_an_accepted_token(hub, imagenet_mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    result, _ = _all(instance, tmp_path, hub, http=LoopbackHubHttp(hf_token="hf_ok"))
    assert _partitions(instance) == SHARDS  # listed over two pages of the API
    raw = instance.get_latest_materialization_event(dg.AssetKey("imagenet_raw")).asset_materialization.metadata
    assert "sha256 = expected_sha256 (pinned) = X-Linked-ETag" in raw["verified"].value
    assert result.asset_materializations_for_node("imagenet_index")[0].metadata["val_images"].value == 10


@pytest.mark.parametrize("http,says", [
    (HttpResource(allow_private="1"), "HF_TOKEN is not set"),
    (LoopbackHubHttp(hf_token="hf_new"), "has no access yet"),
])
def test_a_missing_or_refused_token_says_what_to_do(hub, tmp_path, http, says):
    instance = dg.DagsterInstance.ephemeral()
    resources = {"storage": StorageResource(data_root=str(tmp_path)), "imagenet_source": ImagenetSource(url=hub),
                 "http": http}
    listing = materialize("imagenet_shard_list", instance=instance, **resources)  # the listing is not gated
    warned = listing.asset_materializations_for_node("imagenet_shard_list")[0].metadata
    assert warned["hf_token_missing_for_the_gated_files"].value is (says == "HF_TOKEN is not set")
    with pytest.raises(dg.Failure) as err:
        materialize("imagenet_raw", partition_key=SHARDS[0], instance=instance, **resources)
    assert says in err.value.description and "accept the dataset's terms" in err.value.description
    assert err.value.allow_retries is False
    assert not list((tmp_path / "imagenet" / "raw" / "data").glob("*.parquet"))


def test_a_corrupt_shard_is_a_clear_error_and_is_not_kept(imagenet_mirror, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(imagenet_mirror, mirror)
    shard = mirror / "data" / "validation-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    instance = dg.DagsterInstance.ephemeral()
    resources = {"storage": StorageResource(data_root=str(tmp_path / "data")),
                 "imagenet_source": ImagenetSource(url=str(mirror))}
    materialize("imagenet_shard_list", instance=instance, **resources)
    with pytest.raises(dg.Failure) as err:
        materialize("imagenet_raw", partition_key=SHARDS[2], instance=instance, **resources)
    assert "truncated parquet file" in err.value.description and "the file was removed" in err.value.description
    assert not (tmp_path / "data" / "imagenet" / "raw" / "data" / f"{SHARDS[2]}.parquet").exists()


def test_a_remote_source_must_be_a_hub_resolve_url():
    with pytest.raises(SettingError, match="MM_IMAGENET_URL='https://example.com/imagenet': expected the hub's resolve URL"):
        ImagenetSource(url="https://example.com/imagenet").check_values()
    ImagenetSource().check_values()  # the default: the hub's own resolve URL
