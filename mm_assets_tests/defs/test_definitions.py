"""The code location: the asset keys, partitions and checks that other tools rely on."""

import dagster as dg

from mm_assets.definitions import defs

CONTRACT_ASSETS = ["gpt2_bpe", "owt_raw_slice", "owt_clean_slice", "owt_binarized_slice", "owt_fairseq_data"]
CC3M_ASSETS = ["cc3m_index", "cc3m_availability", "cc3m_image_cache", "cc3m_subset"]


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


def test_cc3m_contract_keys_partitions_and_schedule():
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    graph = defs.resolve_asset_graph()
    for key in CC3M_ASSETS:
        assert key in specs and specs[key].description and specs[key].group_name == "cc3m", key
    for key in ["cc3m_availability", "cc3m_image_cache"]:
        partitions = graph.get(dg.AssetKey(key)).partitions_def
        assert isinstance(partitions, dg.DynamicPartitionsDefinition) and partitions.name == "cc3m_shards"
    assert graph.get(dg.AssetKey("cc3m_index")).partitions_def is None
    assert graph.get(dg.AssetKey("cc3m_subset")).partitions_def is None
    assert dg.AssetKey("cc3m_image_cache") in graph.get(dg.AssetKey("cc3m_subset")).parent_keys
    assert defs.resolve_schedule_def("cc3m_availability_recheck").cron_schedule
    checks = {key.name for key in graph.asset_check_keys}
    assert {"row_ids_in_file_order", "snapshot_covers_shard", "shard_tar_matches_index",
            "subset_is_first_valid_rows"} <= checks
