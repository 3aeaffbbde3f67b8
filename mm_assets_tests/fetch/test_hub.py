"""The hub: resolve URLs, the paginated file list, and what a 401/403 tells the user to do.

Against a real loopback server that answers like a gated hub repository. The project sends
HF_TOKEN only to https://huggingface.co; here a policy that sends it to the loopback server's
origin stands in for that, so
each case of the message is reached: no token, a token not sent to this host, a token refused
(401), a token whose account has not accepted the terms (403).
"""

import hashlib

import pytest

from mm_assets.defs.shared.resources import HttpResource
from mm_assets.fetch.http import DownloadError, FetchPolicy
from mm_assets.fetch.hub import HubAccessError, explain_refusal, list_hub_folder, parse_resolve_url
from mm_assets.fetch.sources import fetch_file
from mm_assets_tests.helpers import LoopbackServer
from mm_assets_tests.hub_server import REPO, LoopbackHubHttp, hub_app


def test_resolve_urls():
    repo = parse_resolve_url("https://huggingface.co/datasets/ILSVRC/imagenet-1k/resolve/main")
    assert repo.page_url == "https://huggingface.co/datasets/ILSVRC/imagenet-1k"
    assert repo.tree_url("data") == "https://huggingface.co/api/datasets/ILSVRC/imagenet-1k/tree/main/data"
    pinned = parse_resolve_url("https://huggingface.co/datasets/nyu-mll/glue/resolve/bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c/")
    assert pinned.revision == "bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c" and pinned.repo_id == "nyu-mll/glue"
    assert parse_resolve_url("https://huggingface.co/openai-community/gpt2/resolve/main").page_url == \
        "https://huggingface.co/openai-community/gpt2"
    assert parse_resolve_url("https://example.com/imagenet") is None


@pytest.fixture
def hub(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(5):
        (folder / f"train-{i:05d}-of-00005.parquet").write_bytes(b"PAR1" + bytes([i]) * (100 + i) + b"PAR1")
    requests = []
    with LoopbackServer(hub_app(tmp_path, page_size=2, tokens={"hf_good": True, "hf_new": False},
                                requests=requests)) as server:
        yield server, tmp_path, requests


def test_listing_follows_every_page_and_gives_sizes_and_sha256(hub):
    server, root, requests = hub
    repo = parse_resolve_url(server.url(f"datasets/{REPO}/resolve/main"))
    files = list_hub_folder(repo, "data", policy=FetchPolicy(allow_private=True))
    assert [f.path for f in files] == [f"data/train-{i:05d}-of-00005.parquet" for i in range(5)]
    for entry in files:
        data = (root / entry.path).read_bytes()
        assert (entry.size, entry.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert len(requests) == 0  # the listing is not gated; the server saw no file request


def _refusal(server, policy: FetchPolicy, token_set: bool, tmp_path) -> str:
    base = server.url(f"datasets/{REPO}/resolve/main")
    with pytest.raises(DownloadError) as err:
        fetch_file(base, "data/train-00000-of-00005.parquet", tmp_path / "out.parquet", policy=policy)
    explained = explain_refusal(err.value, f"{base}/data/train-00000-of-00005.parquet",
                                parse_resolve_url(base), policy, token_set=token_set)
    assert isinstance(explained, HubAccessError) and not explained.retryable
    assert not (tmp_path / "out.parquet").exists()
    return str(explained)


def test_no_token_says_accept_the_terms_and_set_hf_token(hub, tmp_path):
    server, _, _ = hub
    message = _refusal(server, HttpResource(allow_private="1").policy(server.url()), False, tmp_path)
    assert "HTTP 401" in message and "HF_TOKEN is not set" in message
    assert "accept the dataset's terms of access there" in message and f"/datasets/{REPO}" in message
    assert "set HF_TOKEN" in message


def test_a_token_is_never_sent_beyond_the_hub_and_the_message_says_so(hub, tmp_path):
    server, _, requests = hub
    policy = HttpResource(allow_private="1", hf_token="hf_good").policy(server.url())
    message = _refusal(server, policy, True, tmp_path)
    assert "HF_TOKEN is set but is sent only to https://huggingface.co (port 443), not to 127.0.0.1" in message
    assert all(auth is None for _, auth in requests)


def test_a_refused_token(hub, tmp_path):
    server, _, requests = hub
    message = _refusal(server, LoopbackHubHttp(hf_token="hf_typo").policy(server.url()), True, tmp_path)
    assert "HTTP 401" in message and "the token in HF_TOKEN was refused" in message
    assert requests[-1][1] == "Bearer hf_typo"


def test_a_token_whose_account_has_not_accepted_the_terms(hub, tmp_path):
    server, _, _ = hub
    message = _refusal(server, LoopbackHubHttp(hf_token="hf_new").policy(server.url()), True, tmp_path)
    assert "HTTP 403" in message and "has no access yet" in message and "accept the dataset's terms" in message


def test_an_accepted_token_downloads_verified_against_the_hub_sha256(hub, tmp_path):
    server, root, _ = hub
    result = fetch_file(server.url(f"datasets/{REPO}/resolve/main"), "data/train-00003-of-00005.parquet",
                        tmp_path / "out.parquet", policy=LoopbackHubHttp(hf_token="hf_good").policy(server.url()))
    assert (tmp_path / "out.parquet").read_bytes() == (root / "data/train-00003-of-00005.parquet").read_bytes()
    assert "sha256 = X-Linked-ETag" in result.verified


def test_other_errors_pass_unchanged(hub, tmp_path):
    error = DownloadError("http://x/y: HTTP 404 Not Found")
    assert explain_refusal(error, "http://x/y", None, FetchPolicy(), token_set=False) is error
