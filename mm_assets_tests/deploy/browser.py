"""Debian's Chromium, headless, as a person's browser: a page's DOM after its scripts ran, and a
screenshot of it. The flags keep it off the network (this machine reaches only loopback)."""

import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Optional

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS_ENV = "MM_UI_SCREENSHOTS"


def screenshot_dir(default: Path) -> Path:
    """Where the UI tests keep their screenshots: $MM_UI_SCREENSHOTS (e.g. docs/img), else `default`."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def render(url: str, profile: Path, screenshot: Optional[Path] = None, *, size: str = "1600,1000",
           wait_ms: int = 20000) -> str:
    """The DOM of `url` once its scripts settled (virtual time); a PNG of it too when asked."""
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-quic", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--virtual-time-budget={wait_ms}", f"--window-size={size}"]
    if screenshot is not None:
        _run_whole(flags + [f"--screenshot={screenshot}", url])
    return _run_whole(flags + ["--dump-dom", url])


def _run_whole(command: list[str], timeout: float = 180) -> str:
    """Chromium's stdout; on a timeout its whole process group (renderers, zygote) is killed."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    try:
        return process.communicate(timeout=timeout)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
