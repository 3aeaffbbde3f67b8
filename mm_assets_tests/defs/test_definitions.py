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
    for spec in _defined_specs():
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.kinds, spec.key


def test_every_description_points_at_docs_in_the_repository():
    from mm_assets_tests.test_doc_references import OUTSIDE_REFERENCE

    for spec in defs.resolve_all_asset_specs():
        assert not OUTSIDE_REFERENCE.search(spec.description or ""), spec.key


def test_the_asset_graph_page_names_every_asset_and_check():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "asset-graph.md").read_text()
    for spec in _defined_specs():
        assert f"| `{spec.key.to_user_string()}` |" in page, spec.key
    for key in defs.resolve_asset_graph().asset_check_keys:
        assert f"| `{key.name}` |" in page, key


# --- image-text pairs (COCO, VG, manifest) ---

PAIRS_ASSETS = ["coco_train2014_zip", "coco_val2014_zip", "coco_annotations_zip", "coco_karpathy_zip", "coco_images",
                "coco_pairs", "vg_images_zip", "vg_images2_zip", "vg_regions_zip", "vg_images", "vg_pairs",
                "vg_concat_pairs", "pair_manifest"]
PAIRS_TABLE_CHECKS = {"pairs_well_formed", "pair_counts_match_metadata", "pair_images_decode", "fairseq_encodes_pairs"}


def _defined_specs():
    """Every asset of the code location; each must be one it defines (no dangling dependency)."""
    graph = defs.resolve_asset_graph()
    specs = defs.resolve_all_asset_specs()
    assert [s.key for s in specs if not graph.get(s.key).is_materializable] == []
    return specs


def test_pairs_contract_keys_groups_lineage_and_checks():
    graph = defs.resolve_asset_graph()
    specs = {spec.key.to_user_string(): spec for spec in _defined_specs()}
    for key in PAIRS_ASSETS:
        assert key in specs and specs[key].description, key
        assert graph.get(dg.AssetKey(key)).partitions_def is None
    assert {specs[k].group_name for k in PAIRS_ASSETS} == {"coco", "vg", "pairs"}

    def parents(key):
        return {p.to_user_string() for p in graph.get(dg.AssetKey(key)).parent_keys}

    assert parents("pair_manifest") == {"coco_pairs", "vg_pairs", "vg_concat_pairs", "cc3m_subset"}
    assert parents("coco_pairs") == {"coco_annotations_zip", "coco_karpathy_zip", "coco_images", "gpt2_bpe"}
    assert parents("vg_concat_pairs") == {"vg_regions_zip", "vg_images", "gpt2_bpe"}
    checks = {}
    for key in graph.asset_check_keys:
        checks.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
    for table in ("coco_pairs", "vg_pairs", "vg_concat_pairs", "pair_manifest"):
        assert PAIRS_TABLE_CHECKS <= checks[table], table
    assert "cc3m_included" in checks["pair_manifest"]
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
# --- ImageNet and GLUE (issue 8) -----------------------------------------------------------------

def test_imagenet_and_glue_contract():
    from mm_assets.datasets.glue.tasks import PARTITION_KEYS

    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    graph = defs.resolve_asset_graph()
    for key in ["imagenet_shard_list", "imagenet_raw", "imagenet_images", "imagenet_index", "glue_raw",
                "glue_fairseq_data"]:
        assert key in specs and specs[key].description, key
    assert specs["imagenet_index"].group_name == "imagenet" and specs["glue_fairseq_data"].group_name == "glue"
    raw = graph.get(dg.AssetKey("imagenet_raw")).partitions_def
    assert isinstance(raw, dg.DynamicPartitionsDefinition) and raw.name == "imagenet_shards"
    assert graph.get(dg.AssetKey("imagenet_images")).partitions_def == raw
    assert graph.get(dg.AssetKey("imagenet_index")).partitions_def is None
    assert dg.AssetKey("imagenet_raw") in graph.get(dg.AssetKey("imagenet_images")).parent_keys
    assert dg.AssetKey("imagenet_images") in graph.get(dg.AssetKey("imagenet_index")).parent_keys
    assert PARTITION_KEYS == ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"]
    for key in ["glue_raw", "glue_fairseq_data"]:
        assert graph.get(dg.AssetKey(key)).partitions_def.get_partition_keys() == PARTITION_KEYS
    assert {dg.AssetKey("glue_raw"), dg.AssetKey("gpt2_bpe")} <= graph.get(dg.AssetKey("glue_fairseq_data")).parent_keys
    checks = {key.name for key in graph.asset_check_keys}
    assert {"labels_agree_with_synsets", "every_row_accounted_for", "folders_match_index",
            "official_split_sizes", "images_match_recorded_hashes", "fairseq_loads_glue_task"} <= checks
