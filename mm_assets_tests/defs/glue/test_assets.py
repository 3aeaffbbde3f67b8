"""GLUE's assets in process: raw files from a mirror, the task folder, its metadata and errors;
the fairseq check through Pipes (e2e)."""

import shutil

import dagster as dg
import pytest

from mm_assets.defs.glue.resources import GlueSource
from mm_assets.defs.shared.resources import StorageResource
from mm_assets.defs.tokenizer.resources import Gpt2BpeSource
from mm_assets_tests.helpers import check_results, materialize, run_checks


def _resources(root, mirror, bpe_dir):
    return {"storage": StorageResource(data_root=str(root)), "glue_source": GlueSource(url=str(mirror)),
            "gpt2_bpe_source": Gpt2BpeSource(url=str(bpe_dir))}


@pytest.fixture(scope="module")
def mnli(glue_mirror, bpe_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("glue_defs")
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(root, glue_mirror, bpe_dir)
    shutil.copytree(bpe_dir, root / "gpt2_bpe")  # verified files, as gpt2_bpe leaves them
    assets = dg.AssetSelection.assets("glue_raw", "glue_fairseq_data").without_checks()  # the check: e2e below
    result = materialize(assets, partition_key="mnli", instance=instance, **resources)
    return root, instance, result


def test_the_task_folder_and_its_metadata(mnli, glue_mirror):
    root, _, result = mnli
    meta = result.asset_materializations_for_node("glue_fairseq_data")[0].metadata
    assert (root / "glue" / "MNLI-bin" / "input1" / "valid1.idx").is_file()
    assert (root / "glue" / "raw" / "mnli" / "test_mismatched-00000-of-00001.parquet").read_bytes() == \
        (glue_mirror / "mnli" / "test_mismatched-00000-of-00001.parquet").read_bytes()
    assert [meta[f"{s}_examples"].value for s in ("train", "valid", "valid1", "test", "test1")] == [24, 12, 12, 12, 12]
    assert meta["dagster/row_count"].value == 72 and meta["label_dict_symbols"].value == 8
    assert ("valid1", "entailment") in [(r.data["split"], r.data["label"]) for r in meta["label_balance"].records]
    assert meta["unk_tokens"].value == 0 and meta["labelled_splits"].value == "train, valid, valid1"


def test_a_kept_raw_file_is_verified_again_and_reused(mnli, glue_mirror, bpe_dir):
    root, instance, _ = mnli
    result = materialize("glue_raw", partition_key="mnli", instance=instance, **_resources(root, glue_mirror, bpe_dir))
    meta = result.asset_materializations_for_node("glue_raw")[0].metadata
    assert meta["train_reused_existing_file"].value is True


def test_a_corrupt_file_in_the_mirror_is_a_clear_error(glue_mirror, bpe_dir, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(glue_mirror / "cola", mirror / "cola")
    (mirror / "cola" / "validation-00000-of-00001.parquet").write_bytes(b"<html>rate limited</html>")
    with pytest.raises(dg.Failure) as err:
        materialize("glue_raw", partition_key="cola", **_resources(tmp_path / "data", mirror, bpe_dir))
    assert "an HTML page" in err.value.description and "not a parquet file" in err.value.description


def test_missing_raw_files_name_the_asset_to_materialize(bpe_dir, tmp_path):
    with pytest.raises(dg.Failure, match="materialize glue_raw for partition wnli first"):
        materialize("glue_fairseq_data", partition_key="wnli", storage=StorageResource(data_root=str(tmp_path)))


@pytest.mark.e2e
def test_fairseq_loads_the_task_through_pipes(mnli, fairseq_python):
    from mm_assets.defs.shared.resources import FairseqJudgeResource

    root, instance, _ = mnli
    checks = check_results(run_checks("glue_fairseq_data", partition_key="mnli", instance=instance,
                                      storage=StorageResource(data_root=str(root)),
                                      judge=FairseqJudgeResource(python=fairseq_python)))
    assert checks["fairseq_loads_glue_task"].passed, checks["fairseq_loads_glue_task"].metadata


def test_from_the_hub_over_http_with_each_files_sha256(glue_mirror, bpe_dir, tmp_path):
    """The real download path: the hub's resolve URLs on a loopback server answering as the hub
    does (X-Linked-ETag = sha256), GLUE not gated; the bytes kept are the hub's."""
    from mm_assets.defs.shared.resources import HttpResource
    from mm_assets_tests.helpers import LoopbackServer
    from mm_assets_tests.hub_server import hub_app

    requests = []
    with LoopbackServer(hub_app(glue_mirror, repo="nyu-mll/glue", gated=False, requests=requests)) as server:
        resources = {**_resources(tmp_path / "data", glue_mirror, bpe_dir),
                     "glue_source": GlueSource(url=server.url("datasets/nyu-mll/glue/resolve/main")),
                     "http": HttpResource(allow_private="1")}
        result = materialize("glue_raw", partition_key="rte", **resources)
    meta = result.asset_materializations_for_node("glue_raw")[0].metadata
    kept = sorted((tmp_path / "data" / "glue" / "raw" / "rte").iterdir())
    assert [p.name for p in kept] == sorted(p.name for p in (glue_mirror / "rte").iterdir())
    assert all(p.read_bytes() == (glue_mirror / "rte" / p.name).read_bytes() for p in kept)
    assert sorted(path for path, _ in requests) == sorted(f"/datasets/nyu-mll/glue/resolve/main/rte/{p.name}" for p in kept)
    verified = meta["verified"].value
    for split in ("train", "validation", "test"):
        assert f"- {split}: sha256 = X-Linked-ETag" in verified and f"- {split}: size" in verified
