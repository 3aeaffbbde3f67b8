"""Debian's Chromium, headless, as a person's browser: a page's DOM after its scripts ran, and a
screenshot of it. The flags keep it off the network (this machine reaches only loopback)."""

import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
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


# The inline pictures: whether the page drew them is a property of the live page (an <img>'s
# naturalWidth), not of its DOM text, so it is read through the DevTools protocol.
DRAWN_PICTURES_JS = """Array.from(document.querySelectorAll('img'))
  .filter(img => img.src.startsWith('data:image/png'))
  .map(img => ({alt: img.alt, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, complete: img.complete}))"""
# The UI lists Markdown metadata in a table and opens a long value in a dialog: click the
# "[Show Markdown]" of the row whose key is `key`.
OPEN_MARKDOWN_JS = """(() => { for (const row of Array.from(document.querySelectorAll('tr'))) {
    const cells = row.querySelectorAll('td');
    if (cells.length && cells[0].textContent.trim() === %s) {
      const link = Array.from(row.querySelectorAll('a')).find(a => a.textContent.trim() === '[Show Markdown]');
      if (link) { link.click(); return true; } } }
  return false; })()"""


def drawn_pictures(url: str, profile: Path, metadata_key: str, *, want: int = 1, timeout: float = 120,
                   screenshot: Optional[Path] = None, size: str = "1600,1600") -> list[dict]:
    """The inline PNG pictures (data URIs) drawn once the Markdown metadata `metadata_key` of the
    page at `url` is opened: alt text and natural size of each."""
    return asyncio.run(_drawn_pictures(url, profile, metadata_key, want, timeout, screenshot, size))


async def _drawn_pictures(url, profile, metadata_key, want, timeout, screenshot, size) -> list[dict]:
    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    width, height = size.split(",")
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={port}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/json/list") as answer:
                        pages = [p for p in await answer.json() if p.get("type") == "page"]
                    if pages:
                        break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("chromium's DevTools endpoint did not answer")
                await asyncio.sleep(0.3)
            async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                ids = iter(range(1, 1_000_000))

                async def call(method: str, **params) -> dict:
                    number = next(ids)
                    await ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
                    while True:
                        message = json.loads((await ws.receive()).data)
                        if message.get("id") == number:
                            if "error" in message:
                                raise RuntimeError(f"{method}: {message['error']}")
                            return message["result"]

                async def evaluate(expression: str):
                    result = await call("Runtime.evaluate", expression=expression, returnByValue=True)
                    return result["result"].get("value")

                await call("Page.enable")
                await call("Page.navigate", url=url)
                clicked = False
                pictures: list[dict] = []
                while time.monotonic() < deadline:
                    await asyncio.sleep(1)
                    if not clicked:
                        clicked = bool(await evaluate(OPEN_MARKDOWN_JS % json.dumps(metadata_key)))
                        continue
                    pictures = await evaluate(DRAWN_PICTURES_JS) or []
                    if len([p for p in pictures if p["complete"] and p["naturalWidth"] > 0]) >= want:
                        break
                if screenshot is not None:
                    shot = await call("Page.captureScreenshot", format="png")
                    Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
                return pictures
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
