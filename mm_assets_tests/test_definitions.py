"""The code location: the asset keys, partitions and checks that other tools rely on."""

import dagster as dg

from mm_assets.definitions import defs
from mm_assets.resources import MMSettings, settings_from_env


def test_contract_asset_keys_and_partitions():
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    for key in ["gpt2_bpe", "owt_raw_slice", "owt_clean_slice", "owt_binarized_slice", "owt_fairseq_data"]:
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


def test_settings_come_from_environment(monkeypatch):
    monkeypatch.setenv("MM_DATA_ROOT", "/somewhere")
    monkeypatch.setenv("MM_OWT_TRAIN_SLICES", "0,2")
    monkeypatch.delenv("MM_OWT_VALID_SLICES", raising=False)
    settings = settings_from_env()
    assert isinstance(settings.data_root, dg.EnvVar)
    resolved = MMSettings(data_root="/somewhere", owt_train_slices="0,2")
    assert resolved.train_slices() == [0, 2] and resolved.valid_slices() == [5]


def test_hub_token_is_sent_to_the_hub_only():
    settings = MMSettings(hf_token="hf_x")
    hub = settings.fetch_policy("https://huggingface.co/datasets/x/resolve/main")
    assert hub.host_headers == {"huggingface.co": {"Authorization": "Bearer hf_x"}}
    assert settings.fetch_policy("https://example.org/mirror").host_headers == {}
    assert not settings.fetch_policy().allow_private
    assert MMSettings(http_allow_private="1").fetch_policy().allow_private
