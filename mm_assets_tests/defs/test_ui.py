"""The Dagster UI, in a real headless Chromium, shows what the CLI runs did: the data directory's
token counts as metadata, and the fairseq check's result."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mm_assets.formats.fairseq_mmap import read_sizes

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(cli_run):
    data, _ = cli_run
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(data.parent / "dagster_home"), "MM_DATA_ROOT": str(data)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
         "-m", "mm_assets.definitions"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("dagster-webserver did not start")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _render(url: str, profile: Path, screenshot: Path | None = None) -> str:
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
             "--window-size=1400,1000"]
    if screenshot is not None:
        subprocess.run(flags + [f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    result = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    return result.stdout


def test_asset_page_shows_token_counts(webserver, cli_run, tmp_path):
    data, _ = cli_run
    train_tokens = int(np.asarray(read_sizes(data / "owt" / "fairseq" / "train.idx"), dtype=np.int64).sum())
    dom = _render(f"{webserver}/assets/owt_fairseq_data", tmp_path / "profile", tmp_path / "asset.png")
    assert "train_tokens" in dom and "valid_sequences" in dom
    assert str(train_tokens) in dom
    assert (tmp_path / "asset.png").stat().st_size > 10_000  # a real rendered page, kept for a look


def test_checks_tab_shows_the_fairseq_check_passed(webserver, tmp_path):
    dom = _render(f"{webserver}/assets/owt_fairseq_data?view=checks", tmp_path / "profile")
    assert "fairseq_reads_data_dir" in dom
    assert "Passed" in dom or "Succeeded" in dom
