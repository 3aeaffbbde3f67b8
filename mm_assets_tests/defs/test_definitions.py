"""The code location: the asset keys, partitions and checks that other tools rely on."""

import dagster as dg

from mm_assets.definitions import defs

CONTRACT_ASSETS = ["gpt2_bpe", "owt_raw_slice", "owt_clean_slice", "owt_binarized_slice", "owt_fairseq_data"]


def test_contract_asset_keys_and_partitions():
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    for key in CONTRACT_ASSETS:
        assert key in specs, key
        assert specs[key].description
    graph = defs.resolve_asset_graph()
    for key in ["owt_raw_slice", "owt_clean_slice", "owt_binarized_slice"]:
        partitions = graph.get(dg.AssetKey(key)).partitions_def
        assert partitions.get_partition_keys() == [f"{i:02d}" for i in range(21)]
    assert graph.get(dg.AssetKey("owt_fairseq_data")).partitions_def is None
    assert dg.AssetKey("owt_binarized_slice") in graph.get(dg.AssetKey("owt_fairseq_data")).parent_keys
    checks = {key.name for key in graph.asset_check_keys}
    assert {"fairseq_reads_data_dir", "one_sequence_per_clean_line"} <= checks


def test_every_asset_has_a_group_and_kinds():
    for spec in defs.resolve_all_asset_specs():
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.kinds, spec.key


def test_every_description_points_at_docs_in_the_repository():
    for spec in defs.resolve_all_asset_specs():
        assert "DESIGN.md" not in (spec.description or ""), spec.key


def test_the_asset_graph_page_names_every_asset_and_check():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "asset-graph.md").read_text()
    for spec in defs.resolve_all_asset_specs():
        assert f"| `{spec.key.to_user_string()}` |" in page, spec.key
    for key in defs.resolve_asset_graph().asset_check_keys:
        assert f"| `{key.name}` |" in page, key


# --- ImageNet and GLUE (issue 8) -----------------------------------------------------------------

def test_imagenet_and_glue_contract():
    from mm_assets.datasets.glue.tasks import PARTITION_KEYS

    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    graph = defs.resolve_asset_graph()
    for key in ["imagenet_shard_list", "imagenet_raw", "imagenet_index", "glue_raw", "glue_fairseq_data"]:
        assert key in specs and specs[key].description, key
    assert specs["imagenet_index"].group_name == "imagenet" and specs["glue_fairseq_data"].group_name == "glue"
    raw = graph.get(dg.AssetKey("imagenet_raw")).partitions_def
    assert isinstance(raw, dg.DynamicPartitionsDefinition) and raw.name == "imagenet_shards"
    assert graph.get(dg.AssetKey("imagenet_index")).partitions_def is None
    assert dg.AssetKey("imagenet_raw") in graph.get(dg.AssetKey("imagenet_index")).parent_keys
    assert PARTITION_KEYS == ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"]
    for key in ["glue_raw", "glue_fairseq_data"]:
        assert graph.get(dg.AssetKey(key)).partitions_def.get_partition_keys() == PARTITION_KEYS
    assert {dg.AssetKey("glue_raw"), dg.AssetKey("gpt2_bpe")} <= graph.get(dg.AssetKey("glue_fairseq_data")).parent_keys
    checks = {key.name for key in graph.asset_check_keys}
    assert {"labels_agree_with_synsets", "every_row_accounted_for", "folders_match_index",
            "official_split_sizes", "fairseq_loads_glue_task"} <= checks
