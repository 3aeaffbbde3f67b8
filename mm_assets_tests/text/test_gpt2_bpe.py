"""The BPE files: pinned, verified from a folder or over HTTP, and loaded as fairseq would."""

import shutil

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mm_assets.common.missing import MissingInputError
from mm_assets.fetch.http import DownloadError, FetchPolicy
from mm_assets.text.gpt2_bpe import (
    GPT2_BPE_SHA256,
    RANKS_FILE,
    RANKS_SHA256,
    Gpt2BpeFiles,
    fetch_gpt2_bpe,
    load_encoding,
    load_fairseq_lookup,
    verify_gpt2_bpe,
)


def test_fetch_from_folder_verifies_and_keeps_good_files(bpe_dir, tmp_path):
    report = fetch_gpt2_bpe(str(bpe_dir), tmp_path / "a")
    assert {name: info["sha256"] for name, info in report.items()} == {**GPT2_BPE_SHA256, RANKS_FILE: RANKS_SHA256}
    again = fetch_gpt2_bpe(str(bpe_dir), tmp_path / "a")
    assert not any(info["fetched"] for info in again.values())


def test_tampered_file_fails_naming_file_and_both_hashes(bpe_dir, tmp_path):
    source = tmp_path / "mirror"
    shutil.copytree(bpe_dir, source)
    with open(source / "vocab.bpe", "ab") as handle:
        handle.write(b"x y\n")
    with pytest.raises(DownloadError) as err:
        fetch_gpt2_bpe(str(source), tmp_path / "out")
    message = str(err.value)
    assert "vocab.bpe" in message and GPT2_BPE_SHA256["vocab.bpe"] in message
    assert not (tmp_path / "out" / "vocab.bpe").exists()
    with pytest.raises(MissingInputError, match="is missing: materialize gpt2_bpe first"):
        verify_gpt2_bpe(tmp_path / "out")


async def test_fetch_over_http_from_a_loopback_mirror(bpe_dir, tmp_path):
    app = web.Application()
    app.router.add_static("/fairseq/gpt2_bpe", bpe_dir)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        base = str(server.make_url("/fairseq/gpt2_bpe"))
        import asyncio
        report = await asyncio.to_thread(
            fetch_gpt2_bpe, base, tmp_path / "http", policy=FetchPolicy(allow_private=True))
        assert all(report[name]["fetched"] for name in GPT2_BPE_SHA256)
        verify_gpt2_bpe(tmp_path / "http")
        with pytest.raises(DownloadError, match="MM_HTTP_ALLOW_PRIVATE"):
            await asyncio.to_thread(fetch_gpt2_bpe, base, tmp_path / "refused")
    finally:
        await server.close()


def test_lookup_follows_dict_line_order(bpe_dir):
    table, size = load_fairseq_lookup(bpe_dir / "dict.txt")
    assert size == 50264
    # SOURCES.md: "Hello world, this is a test." -> fairseq [0, 31414, 232, 6, 42, 16, 10, 1296, 4, 2]
    gpt2 = [15496, 995, 11, 428, 318, 257, 1332, 13]
    assert table[np.array(gpt2)].tolist() == [31414, 232, 6, 42, 16, 10, 1296, 4]
    assert table[13] == 4 and table[262] == 5  # first two lines of dict.txt


def test_duplicate_symbol_is_refused_like_fairseq(tmp_path):
    (tmp_path / "dict.txt").write_text("13 5\n262 4\n13 1\n")
    with pytest.raises(ValueError, match="duplicate"):
        load_fairseq_lookup(tmp_path / "dict.txt")


def test_ranks_file_gives_the_same_encoding_as_the_pinned_files(bpe_dir, tmp_path):
    """The derived gpt2.tiktoken loads fast; without it (or when damaged) the ranks are derived."""
    import shutil

    files = Gpt2BpeFiles(tmp_path)
    for name in GPT2_BPE_SHA256:
        shutil.copy(bpe_dir / name, tmp_path / name)
    text = "Hello world, this is a test. Grüße 👍🏽 <|endoftext|>"
    derived = load_encoding(files).encode_ordinary(text)
    fetch_gpt2_bpe(str(bpe_dir), tmp_path)
    assert files.ranks.is_file()
    assert load_encoding(files).encode_ordinary(text) == derived
    assert derived[:8] == [15496, 995, 11, 428, 318, 257, 1332, 13]
    files.ranks.write_bytes(files.ranks.read_bytes()[:-100])  # damaged: ignored, derived again
    assert load_encoding(files).encode_ordinary(text) == derived
