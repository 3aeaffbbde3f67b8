"""The whole image-text chain through Dagster, on the sample mirrors: the CLI sequence the issue
names, every check, the CC3M warning, both COCO splits, the same bytes whatever the workers."""

import os

import dagster as dg
import pyarrow.parquet as pq
import pytest

from mm_assets.defs.coco.resources import CocoSource
from mm_assets.defs.shared.resources import ComputeResource, FairseqJudgeResource, StorageResource
from mm_assets.samples.coco.mirror import SAMPLE_EXPECTED as COCO_EXPECTED
from mm_assets.samples.vg.mirror import SAMPLE_EXPECTED as VG_EXPECTED
from mm_assets_tests.helpers import check_results, install_coco_vg, materialize, run_materialize_cli, write_cc3m_subset

pytestmark = pytest.mark.e2e

UPSTREAM = ("gpt2_bpe,coco_train2014_zip,coco_val2014_zip,coco_annotations_zip,coco_karpathy_zip,coco_images,"
            "vg_images_zip,vg_images2_zip,vg_regions_zip,vg_images")


def _check_statuses(instance, asset: str) -> dict[str, bool]:
    """Check name -> whether its latest execution passed."""
    from mm_assets.definitions import defs

    keys = [key for key in defs.resolve_asset_graph().asset_check_keys if key.asset_key == dg.AssetKey(asset)]
    executions = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    return {key.name: record.status.value == "SUCCEEDED" for key, record in executions.items() if record}


def test_cli_sequence_on_a_mirror(coco_vg_mirror, bpe_dir, fairseq_python, tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, **coco_vg_mirror, "MM_DATA_ROOT": str(data), "MM_GPT2_BPE_URL": str(bpe_dir),
           "MM_FAIRSEQ_PYTHON": fairseq_python, "DAGSTER_HOME": str(tmp_path / "home"), "MM_WORKERS": "2"}
    (tmp_path / "home").mkdir()
    run_materialize_cli(env, "--select", UPSTREAM)
    run_materialize_cli(env, "--select", "coco_pairs,vg_pairs,vg_concat_pairs")
    run_materialize_cli(env, "--select", "pair_manifest")
    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
    for asset in ("coco_pairs", "vg_pairs", "vg_concat_pairs", "pair_manifest"):
        statuses = _check_statuses(instance, asset)
        expected = {"pairs_well_formed", "pair_counts_match_metadata", "pair_images_decode", "fairseq_encodes_pairs"}
        assert all(statuses.get(name) is True for name in expected), (asset, statuses)
    assert _check_statuses(instance, "pair_manifest")["cc3m_included"] is False  # a warning: no subset yet
    metadata = instance.get_latest_materialization_event(dg.AssetKey("pair_manifest")).asset_materialization.metadata
    assert metadata["pairs_coco"].value == COCO_EXPECTED["karpathy"]["pairs"]
    assert metadata["pairs_vg"].value == VG_EXPECTED["pairs"] and metadata["cc3m_included"].value is False
    assert "| COCO | 26 | 82,783 |" in metadata["table_1"].value

    # Once the CC3M subset exists, the manifest (now with VG concat) holds it and the warning clears.
    write_cc3m_subset(data, ["actor attends the premiere", "view of the city at night"])
    run_materialize_cli({**env, "MM_PAIRS_VG": "concat"}, "--select", "pair_manifest")
    table = pq.read_table(data / "pairs" / "manifest.parquet", columns=["source"])
    assert set(table.column("source").to_pylist()) == {"coco", "vg_concat", "cc3m"}
    statuses = _check_statuses(instance, "pair_manifest")
    assert statuses["cc3m_included"] is True and statuses["pair_images_decode"] is True
    assert statuses["fairseq_encodes_pairs"] is True


def test_train2014_split_in_process_and_the_same_bytes_with_any_workers(coco_vg_mirror, tmp_path):
    layout = install_coco_vg(coco_vg_mirror, tmp_path / "data")
    from mm_assets.text.gpt2_bpe import fetch_gpt2_bpe
    from mm_assets_tests.helpers import bpe_source

    fetch_gpt2_bpe(str(bpe_source()), layout.gpt2_bpe_dir)
    storage = StorageResource(data_root=str(layout.root))
    outputs = []
    for workers in ("1", "2"):
        result = materialize("coco_pairs", storage=storage, compute=ComputeResource(workers=workers),
                             coco_source=CocoSource(split="train2014"), judge=FairseqJudgeResource())
        outputs.append(layout.coco.pairs.read_bytes())
        metadata = result.asset_materializations_for_node("coco_pairs")[0].metadata
        assert metadata["pairs"].value == COCO_EXPECTED["train2014"]["pairs"]
        assert metadata["images"].value == COCO_EXPECTED["train2014"]["images"]
        assert metadata["split"].value == "train2014" and metadata["seed_pairs"].value == 566_747
        assert "No one set of COCO captions has both" in metadata["seed_figures"].value
        checks = check_results(result)
        assert {name: c.passed for name, c in checks.items()} == {
            "pairs_well_formed": True, "pair_counts_match_metadata": True, "pair_images_decode": True,
            "fairseq_encodes_pairs": True}
    assert outputs[0] == outputs[1]
