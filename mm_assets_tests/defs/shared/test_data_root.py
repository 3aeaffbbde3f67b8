"""The data-root check through Dagster: one instance, two data roots; the second is refused."""

import dagster as dg

from mm_assets.common.data_root import read_marker
from mm_assets.defs.shared.data_root import RUN_TAG, adopt
from mm_assets.defs.shared.resources import StorageResource
from mm_assets.defs.tokenizer.resources import Gpt2BpeSource
from mm_assets_tests.helpers import materialize


def _gpt2_bpe(root, instance, bpe_dir, *, raise_on_error=True):
    return materialize("gpt2_bpe", instance=instance, raise_on_error=raise_on_error,
                       storage=StorageResource(data_root=str(root)),
                       gpt2_bpe_source=Gpt2BpeSource(url=str(bpe_dir)))


def test_a_step_on_another_data_root_fails_naming_it(tmp_path, bpe_dir):
    instance = dg.DagsterInstance.ephemeral()
    first = _gpt2_bpe(tmp_path / "shared", instance, bpe_dir)
    marker = read_marker(tmp_path / "shared")
    assert marker is not None
    assert instance.get_run_by_id(first.run_id).tags[RUN_TAG] == marker.id

    again = _gpt2_bpe(tmp_path / "shared", instance, bpe_dir)  # the same root: fine
    assert again.success

    refused = _gpt2_bpe(tmp_path / "local-disk", instance, bpe_dir, raise_on_error=False)
    assert not refused.success
    failure = "\n".join(event.event_specific_data.error.message for event in refused.all_events
                        if event.event_type_value == "RESOURCE_INIT_FAILURE")
    assert f"MM_DATA_ROOT={tmp_path / 'local-disk'}" in failure and "Mount that data root" in failure
    assert marker.id in failure
    assert not (tmp_path / "local-disk" / "gpt2_bpe").exists()  # nothing fetched into the wrong root


def test_adopt_moves_the_instance_to_a_new_root(tmp_path, bpe_dir):
    instance = dg.DagsterInstance.ephemeral()
    _gpt2_bpe(tmp_path / "old", instance, bpe_dir)
    adopt(instance, tmp_path / "new")
    assert _gpt2_bpe(tmp_path / "new", instance, bpe_dir).success
    assert not _gpt2_bpe(tmp_path / "old", instance, bpe_dir, raise_on_error=False).success
