"""Settings: bound from the environment with EnvVar, checked before any work starts, with a
message that names the variable, the value and what it accepts."""

import dagster as dg
import pytest

from mm_assets.defs.owt.resources import OwtSource
from mm_assets.defs.shared.resources import ComputeResource, HttpResource, SettingError, StorageResource
from mm_assets_tests.helpers import materialize


def test_set_variables_are_bound_with_envvar_unset_keep_defaults(monkeypatch):
    monkeypatch.setenv("MM_DATA_ROOT", "/somewhere")
    monkeypatch.delenv("MM_OWT_VALID_SLICES", raising=False)
    monkeypatch.setenv("MM_OWT_TRAIN_SLICES", "0,2")
    assert isinstance(StorageResource.from_env().data_root, dg.EnvVar)
    owt = OwtSource.from_env()
    assert isinstance(owt.train_slices, dg.EnvVar) and owt.valid_slices == "5"
    assert OwtSource(train_slices="0,2").splits() == {"train": [0, 2], "valid": [5]}


def test_an_empty_variable_is_bound_too_and_then_refused(monkeypatch):
    monkeypatch.setenv("MM_OWT_TRAIN_SLICES", "")
    assert isinstance(OwtSource.from_env().train_slices, dg.EnvVar)
    with pytest.raises(SettingError, match="MM_OWT_TRAIN_SLICES=''"):
        OwtSource(train_slices="").check_values()


@pytest.mark.parametrize("train,valid,needle", [
    ("a", "5", "MM_OWT_TRAIN_SLICES='a': expected slice numbers 0-20 as ranges and comma lists, e.g. 0-4 or 0,2,7"),
    ("0-4", "21", "MM_OWT_VALID_SLICES='21': expected slice numbers 0-20"),
    ("4-2", "5", "MM_OWT_TRAIN_SLICES='4-2'"),
    ("0-5", "5", "slice(s) 5 in both"),
])
def test_bad_slice_lists_name_the_variable(train, valid, needle):
    with pytest.raises(SettingError) as err:
        OwtSource(train_slices=train, valid_slices=valid).check_values()
    assert needle in str(err.value)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_workers_must_be_a_positive_integer(value):
    with pytest.raises(SettingError, match=f"MM_WORKERS='{value}': expected a positive integer at most 1024, or unset"):
        ComputeResource(workers=value).check_values()


def test_workers_unset_means_all_cores():
    assert ComputeResource().worker_count >= 1 and ComputeResource(workers="3").worker_count == 3


def test_allow_private_takes_only_yes_or_no_words():
    assert HttpResource(allow_private="1").policy().allow_private
    assert not HttpResource(allow_private="off").policy().allow_private
    with pytest.raises(SettingError, match="MM_HTTP_ALLOW_PRIVATE='maybe'"):
        HttpResource(allow_private="maybe").check_values()


def test_hub_token_is_sent_to_the_hub_only():
    http = HttpResource(hf_token="hf_x")
    hub = http.policy("https://huggingface.co/datasets/x/resolve/main")
    assert hub.origin_headers == {"https://huggingface.co:443": {"Authorization": "Bearer hf_x"}}
    assert http.policy("https://example.org/mirror").origin_headers == {}
    assert http.policy("http://huggingface.co/datasets/x/resolve/main").origin_headers == {}
    assert not http.policy().allow_private


@pytest.mark.parametrize("value", ["1025", "99999999999999999999"])
def test_workers_are_capped(value):
    with pytest.raises(SettingError, match=f"MM_WORKERS='{value}': expected a positive integer at most 1024"):
        ComputeResource(workers=value).check_values()
    ComputeResource(workers="1024").check_values()


@pytest.mark.parametrize("value", ["ftp://example.org/gpt2_bpe", "s3://bucket/x", "http://", "https://[::1/x"])
def test_a_url_setting_of_another_scheme_is_refused_naming_the_variable(value):
    from mm_assets.defs.tokenizer.resources import Gpt2BpeSource

    accepts = r"expected an http\(s\):// URL, a file:// URL or a local path"
    with pytest.raises(SettingError, match=f"MM_GPT2_BPE_URL=.*{accepts}"):
        Gpt2BpeSource(url=value).check_sources()
    for fine in ("https://dl.fbaipublicfiles.com/fairseq/gpt2_bpe", "file:///data/bpe", "/data/bpe", "relative/bpe"):
        Gpt2BpeSource(url=fine).check_sources()


def test_a_bad_setting_fails_the_step_before_any_work(tmp_path):
    result = materialize("owt_fairseq_data", raise_on_error=False,
                         storage=StorageResource(data_root=str(tmp_path)),
                         owt_source=OwtSource(train_slices="a"))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_failure)
    assert "MM_OWT_TRAIN_SLICES='a'" in str(failure.event_specific_data.error)
    assert not any(tmp_path.iterdir())  # nothing was written


@pytest.mark.slow  # the CLI twin of the in-process test above
def test_a_bad_environment_variable_fails_a_cli_run(tmp_path):
    import os

    from mm_assets_tests.helpers import run_materialize_cli

    env = {**os.environ, "MM_DATA_ROOT": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path),
           "MM_WORKERS": "0"}
    result = run_materialize_cli(env, "--select", "owt_clean_slice", "--partition", "00", check=False)
    assert result.returncode != 0
    assert "MM_WORKERS='0': expected a positive integer" in result.stdout + result.stderr


def test_the_archive_caps_are_bound_from_the_environment_and_checked(monkeypatch):
    from mm_assets.defs.shared.resources import ArchiveLimitsResource
    from mm_assets.formats.archive_limits import ArchiveLimits

    monkeypatch.setenv("MM_ARCHIVE_MAX_RATIO", "250")
    monkeypatch.delenv("MM_ARCHIVE_MAX_MEMBER_BYTES", raising=False)
    bound = ArchiveLimitsResource.from_env()
    assert isinstance(bound.max_ratio, dg.EnvVar) and bound.max_member_bytes == "20000000"
    assert ArchiveLimitsResource().limits == ArchiveLimits()
    assert ArchiveLimitsResource(max_ratio="250", max_text_member_bytes="1000").limits == \
        ArchiveLimits(max_text_member_bytes=1000, max_ratio=250.0)
    for field, value, needle in [("max_member_bytes", "20MB", "MM_ARCHIVE_MAX_MEMBER_BYTES='20MB': expected a "
                                  "positive whole number of bytes"),
                                 ("max_text_member_bytes", "0", "MM_ARCHIVE_MAX_TEXT_MEMBER_BYTES='0'"),
                                 ("max_ratio", "nan", "MM_ARCHIVE_MAX_RATIO='nan': expected a positive ratio")]:
        with pytest.raises(SettingError) as err:
            ArchiveLimitsResource(**{field: value}).check_values()
        assert needle in str(err.value)
