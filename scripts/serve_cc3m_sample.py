"""Serve a CC3M sample on loopback and write its index (caption TAB url) for MM_CC3M_INDEX_URL.

Binds 127.0.0.1 on a free port, writes `--index-out` with absolute URLs to that port (rows of
dead hosts point at a second port where nothing listens), writes the port to `--ready-file`
once it accepts connections, and serves until it is stopped (SIGTERM or SIGINT).

Usage: python scripts/serve_cc3m_sample.py --sample sample/cc3m --index-out DIR/index.tsv --ready-file F
"""

import argparse
import asyncio
import signal
import socket
from pathlib import Path

from aiohttp import web

from mm_assets.samples.cc3m.sample import index_lines
from mm_assets.samples.cc3m.sample_server import make_app


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def serve(sample: Path, index_out: Path, ready_file: Path | None, slow_s: float) -> None:
    images = {path.name: path.read_bytes() for path in (sample / "files").iterdir()}
    app = make_app(images, (sample / "placeholder.png").read_bytes(), slow_s=slow_s)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    lines = index_lines(sample / "paths.tsv", f"http://127.0.0.1:{port}", f"http://127.0.0.1:{_unused_port()}")
    index_out.parent.mkdir(parents=True, exist_ok=True)
    index_out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if ready_file:
        ready_file.write_text(str(port))
    print(f"serving {len(images)} images of {sample} on http://127.0.0.1:{port}; index: {index_out}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", required=True, type=Path)
    parser.add_argument("--index-out", required=True, type=Path)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--slow-s", type=float, default=30.0, help="how long /slow/ URLs take to answer")
    args = parser.parse_args()
    asyncio.run(serve(args.sample, args.index_out, args.ready_file, args.slow_s))


if __name__ == "__main__":
    main()
