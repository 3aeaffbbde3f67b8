"""The retry rule: only what can heal is retried; a bad setting, damaged content served whole, a
404 or a refused address fails the step at once, with its message, and leaves nothing behind.

Against real loopback servers, through Dagster's own execution (`dg.materialize` of the code
location's assets, or of a small asset under the same rule), and through the CLI, whose
multiprocess executor is where a resource's setup failure used to meet a retry policy.
"""

import os
import time

import dagster as dg
import pytest
from aiohttp import web

from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.defs.owt.resources import OwtSource
from mm_assets.defs.shared.resources import HttpResource, StorageResource
from mm_assets.defs.shared.retry import NETWORK_RETRY_POLICY, retry_only_what_can_heal
from mm_assets.fetch.http import download_lock, partial_path
from mm_assets.fetch.sources import fetch_file
from mm_assets_tests.helpers import LoopbackServer, materialize, run_materialize_cli

RETRY = "STEP_UP_FOR_RETRY"


def _event_types(result) -> list[str]:
    return [event.event_type_value for event in result.all_events]


def _failure_message(result) -> str:
    return "\n".join(str(event.event_specific_data.error) for event in result.all_events if event.is_step_failure)


def test_no_asset_has_a_retry_policy_and_every_network_asset_goes_through_the_rule():
    """A retry policy would also retry a resource's setup failure (a bad setting): none is left;
    the assets that use the network retry through the rule instead."""
    from mm_assets.definitions import defs

    for asset in defs.assets:
        name = asset.key.to_user_string()
        assert asset.op.retry_policy is None, f"{name} has a retry_policy: use @retry_only_what_can_heal"
        ruled = getattr(asset.op.compute_fn.decorated_fn, "transient_retry_policy", None) is NETWORK_RETRY_POLICY
        assert ruled == ("http" in asset.required_resource_keys), name


# --- damaged content served whole ------------------------------------------------------------

@pytest.fixture
def cut_slice_server(owt_mirror):
    """The hub's layout with slice 05 cut to 3,000 bytes, its Content-Length saying 3,000."""
    data = (owt_mirror / slice_hub_path(5)).read_bytes()[:3000]
    requests = []

    async def serve(request):
        requests.append(request.path)
        return web.Response(body=data)  # aiohttp sends Content-Length: 3000

    app = web.Application()
    app.router.add_get("/datasets/owt/resolve/main/subsets/{name}", serve)
    with LoopbackServer(app) as server:
        yield server.url("datasets/owt/resolve/main"), requests


def test_owt_slice_served_cut_with_a_matching_length_fails_at_once(cut_slice_server, tmp_path):
    url, requests = cut_slice_server
    started = time.monotonic()
    result = materialize("owt_raw_slice", partition_key="05", raise_on_error=False,
                         storage=StorageResource(data_root=str(tmp_path)), http=HttpResource(allow_private="1"),
                         owt_source=OwtSource(url=url))
    assert not result.success and RETRY not in _event_types(result)
    assert len(requests) == 1 and time.monotonic() - started < NETWORK_RETRY_POLICY.delay  # one try, no wait
    message = _failure_message(result)
    assert "urlsf_subset05.tar from http://127.0.0.1:" in message
    assert "sent this body whole (3,000 bytes, as its Content-Length said)" in message and "not retried" in message
    dest = tmp_path / "owt" / "raw" / slice_hub_path(5)
    assert not dest.exists() and [p.name for p in dest.parent.iterdir()] == []  # no partial, no lock


# --- what can heal is retried, what cannot fails at once ---------------------------------------

@pytest.fixture
def flaky_server():
    """/flaky answers 503 the first time, then the file; /gone is a 404."""
    calls = {"flaky": 0, "gone": 0}

    async def flaky(request):
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            return web.Response(status=503, text="busy")
        return web.Response(body=b"the file")

    async def gone(request):
        calls["gone"] += 1
        return web.Response(status=404, text="no such file")

    app = web.Application()
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/gone", gone)
    with LoopbackServer(app) as server:
        yield server.url(), calls


class FetchConfig(dg.Config):
    name: str


@dg.asset
@retry_only_what_can_heal(policy=dg.RetryPolicy(max_retries=2))  # no wait between tries, for the test
def one_file(context: dg.AssetExecutionContext, config: FetchConfig, storage: StorageResource,
             http: HttpResource) -> dg.MaterializeResult:
    """A download asset under the rule, with the waits taken out."""
    base = os.environ["ONE_FILE_BASE"]
    result = fetch_file(base, config.name, storage.layout.root / config.name, policy=http.policy(base))
    return dg.MaterializeResult(metadata={"bytes": result.size})


def _one_file(name: str, root, base: str, monkeypatch):
    monkeypatch.setenv("ONE_FILE_BASE", base)
    return dg.materialize([one_file], raise_on_error=False,
                          run_config=dg.RunConfig({"one_file": FetchConfig(name=name)}),
                          resources={"storage": StorageResource(data_root=str(root)),
                                     "http": HttpResource(allow_private="1")})


def test_a_503_is_retried_and_then_succeeds(flaky_server, tmp_path, monkeypatch):
    base, calls = flaky_server
    result = _one_file("flaky", tmp_path, base, monkeypatch)
    assert result.success and _event_types(result).count(RETRY) == 1 and calls["flaky"] == 2
    assert (tmp_path / "flaky").read_bytes() == b"the file"


def test_a_404_fails_at_once(flaky_server, tmp_path, monkeypatch):
    base, calls = flaky_server
    result = _one_file("gone", tmp_path, base, monkeypatch)
    assert not result.success and RETRY not in _event_types(result) and calls["gone"] == 1
    assert "/gone: HTTP 404" in _failure_message(result)
    assert not (tmp_path / "gone").exists() and not partial_path(tmp_path / "gone").exists()


def test_a_download_in_progress_elsewhere_is_retried_until_the_tries_run_out(flaky_server, tmp_path, monkeypatch):
    base, calls = flaky_server
    with download_lock(tmp_path / "flaky", owner="another run"):
        result = _one_file("flaky", tmp_path, base, monkeypatch)
    assert not result.success and _event_types(result).count(RETRY) == 2 and calls["flaky"] == 0
    assert "another download of this file is in progress" in _failure_message(result)


def test_a_refused_address_fails_at_once(flaky_server, tmp_path, monkeypatch):
    base, calls = flaky_server
    monkeypatch.setenv("ONE_FILE_BASE", base)
    result = dg.materialize([one_file], raise_on_error=False,
                            run_config=dg.RunConfig({"one_file": FetchConfig(name="flaky")}),
                            resources={"storage": StorageResource(data_root=str(tmp_path)), "http": HttpResource()})
    assert not result.success and RETRY not in _event_types(result) and calls["flaky"] == 0
    assert "MM_HTTP_ALLOW_PRIVATE=1" in _failure_message(result)


# --- a bad setting, through the CLI (the multiprocess executor) --------------------------------

def _cli(tmp_path, **variables):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "DAGSTER_HOME": str(home), "MM_DATA_ROOT": str(tmp_path / "data"), **variables}
    return env


def _assert_failed_at_once_naming(result, *needles):
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "STEP_FAILURE" in output and RETRY not in output and "STEP_RESTARTED" not in output
    for needle in needles:
        assert needle in output, needle


@pytest.mark.e2e
def test_a_bad_data_root_fails_every_unpartitioned_network_asset_at_once(tmp_path):
    selection = ("gpt2_bpe,cc3m_index,imagenet_shard_list,coco_karpathy_zip,coco_annotations_zip,"
                 "vg_regions_zip,coco_train2014_zip")
    result = run_materialize_cli(_cli(tmp_path, MM_DATA_ROOT=""), "--select", selection, check=False)
    _assert_failed_at_once_naming(result, "MM_DATA_ROOT=''")
    output = result.stdout + result.stderr
    for key in selection.split(","):
        assert f'Execution of step "{key}" failed' in output or f"{key} - STEP_FAILURE" in output, key


@pytest.mark.e2e
def test_an_ftp_gpt2_bpe_url_fails_at_once_naming_the_variable(tmp_path):
    result = run_materialize_cli(_cli(tmp_path, MM_GPT2_BPE_URL="ftp://example.org/gpt2_bpe"),
                                 "--select", "gpt2_bpe", check=False)
    _assert_failed_at_once_naming(result, "MM_GPT2_BPE_URL='ftp://example.org/gpt2_bpe'", "scheme ftp://")
    assert not (tmp_path / "data").exists()


@pytest.mark.e2e
def test_bad_settings_fail_partitioned_network_assets_at_once(tmp_path):
    cases = [
        ("owt_raw_slice", "00", {"MM_HTTP_ALLOW_PRIVATE": "maybe"}, "MM_HTTP_ALLOW_PRIVATE='maybe'"),
        ("glue_raw", "cola", {"MM_GLUE_URL": "s3://bucket/glue"}, "MM_GLUE_URL='s3://bucket/glue'"),
        ("cc3m_image_cache", "00000", {"MM_WORKERS": "99999999999999999999"},
         "MM_WORKERS='99999999999999999999': expected a positive integer at most 1024"),
    ]
    env = _cli(tmp_path)
    dg.DagsterInstance.from_config(str(tmp_path / "home")).add_dynamic_partitions("cc3m_shards", ["00000"])
    for key, partition, variables, needle in cases:
        result = run_materialize_cli({**env, **variables}, "--select", key, "--partition", partition, check=False)
        _assert_failed_at_once_naming(result, needle)
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.*"))

