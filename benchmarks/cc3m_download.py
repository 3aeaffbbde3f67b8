"""CC3M's image cache and availability check against img2dataset, on one loopback server.

1. A CC3M-like index of `--urls` rows (`mm_assets/samples/cc3m/sample.py`, realistic mode): real
   JPEG, PNG and WebP files made by Pillow at CC3M dimensions (mostly 50-300 KB), and about 30 % of
   the rows failing as CC3M links fail (404/410/500, HTML error pages, some sent as images,
   timeouts, bodies cut short, files cut short on the server, placeholder redirects and copies,
   tiny images, X-Robots-Tag noai, redirect loops, dead hosts, bad URLs). Its statistics are printed.
2. A server: `--server-processes` aiohttp processes (on uvloop where installed) sharing one port on 127.0.0.1
   (SO_REUSEPORT), the images held in memory.
3. Ours, through the library functions the assets call (`write_index` as cc3m_index does,
   `read_shard` + `cache_shard` per shard as cc3m_image_cache does, `check_shard` as
   cc3m_availability does), with the settings built by the assets' own resources (Cc3mCrawl,
   HttpResource): `--concurrency` URLs in flight (per host as many: img2dataset has no per-host
   limit), no resize, `--timeout` seconds per URL, no retries. Each run is its own process.
4. img2dataset (the version the registry serves, in its own venv, created here if missing), same
   URLs, same concurrency (processes x threads), same cores, no resize, same timeout, no retries,
   min side 32 and the pixel cap as ours, noai/noimageai refused; in two modes:
   `decode` (resize_mode=no, skip_reencode: it decodes every image with OpenCV, as we do with
   Pillow; JPEGs kept as served, other formats re-encoded) and `as-served`
   (disable_all_reencoding: the bytes as served, nothing decoded).
5. CPU per kept image, the work alone (server excluded), ours against img2dataset's `decode` mode
   and the ratio against the 0.8x goal (the median of `--cpu-repeats` runs of both, interleaved, as
   the machine's load drifts); what the 1.5x target asks of the cores: both tools' CPU
   per valid image for the work alone
   (img2dataset's start-up measured on 10 URLs and taken off; the server's CPU included), and how
   many cores ours would need to finish in the time 1.5x allows.
6. Peak RSS of our image cache and of our availability check at two index sizes (`--rss-urls`):
   memory must not grow with the index.

Prints images/s for both and the ratio, the check's URLs/s, the RSS figures, and how many images
img2dataset keeps that we reject (by our reason).

    .venv/bin/python benchmarks/cc3m_download.py [--urls 4000] [--concurrency 64] [--timeout 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

IMG2DATASET = "img2dataset==1.47.0"  # the registry's latest release when this benchmark was written
SPEED_SHARD_SIZE = 10_000  # the default: the speed runs are one shard, as img2dataset's are
RSS_SHARD_SIZE = 1_000  # the RSS runs: the larger index has more shards, each as large


# ---------------------------------------------------------------------------------------------
# the server (run as `--serve DIR --port P`, several processes on one port)

def serve(sample_dir: Path, port: int, slow_s: float) -> None:
    from aiohttp import web

    from mm_assets.samples.cc3m.sample_server import make_app

    images = {path.name: path.read_bytes() for path in (sample_dir / "files").iterdir()}
    app = make_app(images, (sample_dir / "placeholder.png").read_bytes(), slow_s=slow_s)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True, backlog=4096).start()
        await asyncio.Event().wait()

    try:
        import uvloop  # the server's side only (dagster-webserver brings it): a faster server
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


class Servers:
    def __init__(self, sample_dir: Path, processes: int, slow_s: float) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.procs = [subprocess.Popen([sys.executable, __file__, "--serve", str(sample_dir), "--port", str(self.port),
                                        "--slow-s", str(slow_s)], cwd=REPO) for _ in range(processes)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the benchmark server did not start")

    def cpu_s(self) -> float:
        """CPU seconds the server processes have used so far."""
        import psutil

        times = [psutil.Process(proc.pid).cpu_times() for proc in self.procs]
        return sum(t.user + t.system for t in times)

    def close(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---------------------------------------------------------------------------------------------
# ours (run as `--ours cache|check ...` in a process of its own)

def run_ours(kind: str, index_tsv: Path, data: Path, concurrency: int, timeout: float, workers: int,
             shard_size: int) -> dict:
    from mm_assets.datasets.cc3m.availability import check_shard
    from mm_assets.datasets.cc3m.image_cache import cache_shard
    from mm_assets.datasets.cc3m.index import read_index_info, read_shard, write_index
    from mm_assets.datasets.cc3m.paths import Cc3mPaths
    from mm_assets.datasets.cc3m.shards import shard_keys
    from mm_assets.defs.cc3m.resources import Cc3mCrawl
    from mm_assets.defs.shared.resources import HttpResource

    paths = Cc3mPaths(data / "cc3m")
    http = HttpResource(allow_private="1", timeout_s=str(timeout))
    crawl = Cc3mCrawl(concurrency=str(concurrency), per_host=str(concurrency), retries="0")
    limits = crawl.limits(timeout_s=http.total_timeout_s, connect_timeout_s=http.connect_timeout_s)
    baseline = _rss_mib()  # interpreter, pyarrow, Pillow, aiohttp, dagster (for the settings classes)
    sampler = _RssSampler().start()
    write_index(index_tsv, paths.index, shard_size=shard_size, max_malformed=0)
    info = read_index_info(paths.index)
    cpu_before = _self_cpu()
    started = time.monotonic()
    statuses: Counter = Counter()
    images = image_bytes = 0
    answered = 0.0
    for shard in shard_keys(info.lines, info.shard_size):
        rows = read_shard(paths.index, shard)
        if kind == "cache":
            summary = cache_shard(rows, shard, paths, policy=http.crawl_policy(), limits=limits,
                                  rules=crawl.image_rules(), workers=workers)
            statuses.update(summary.statuses.counts)
            images += summary.images
            image_bytes += summary.image_bytes
            answered += summary.answered_s
        else:
            snapshot = check_shard(rows, shard, paths, policy=http.crawl_policy(), limits=limits)
            statuses.update(snapshot.statuses.counts)
            answered += snapshot.answered_s
    seconds = time.monotonic() - started
    cpu = _self_cpu() - cpu_before
    sampler.stop()
    return {"seconds": seconds, "answered_s": answered, "urls": info.rows, "images": images, "image_bytes": image_bytes,
            "statuses": dict(statuses), "baseline_rss_mib": baseline, "peak_rss_mib": sampler.peak, "cpu_s": cpu}


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class _RssSampler:
    """The peak RSS of this process while the work runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "_RssSampler":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mib())
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())


def ours_in_a_process(kind: str, index_tsv: Path, data: Path, args, shard_size: int = SPEED_SHARD_SIZE) -> dict:
    shutil.rmtree(data, ignore_errors=True)
    launched = time.monotonic()
    out = subprocess.run([sys.executable, __file__, "--ours", kind, "--index", str(index_tsv), "--data", str(data),
                          "--concurrency", str(args.concurrency), "--timeout", str(args.timeout),
                          "--workers", str(args.workers), "--shard-size", str(shard_size)],
                         cwd=REPO, capture_output=True, text=True)
    process_s = time.monotonic() - launched  # launch to exit: imports and the index included, as for img2dataset
    if out.returncode:
        raise RuntimeError(out.stdout[-3000:] + out.stderr[-3000:])
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_s": process_s}


# ---------------------------------------------------------------------------------------------
# img2dataset

def img2dataset_venv(path: Path) -> Path:
    python = path / "bin" / "python"
    if not (path / "bin" / "img2dataset").exists():
        print(f"creating {path} with {IMG2DATASET} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", IMG2DATASET], check=True)
    return path / "bin" / "img2dataset"


def run_img2dataset(binary: Path, urls_tsv: Path, out: Path, rows: int, mode: str, args) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    processes = args.processes
    options = ["--url_list", str(urls_tsv), "--input_format", "tsv", "--url_col", "url", "--caption_col", "caption",
               "--output_format", "webdataset", "--output_folder", str(out),
               "--processes_count", str(processes), "--thread_count", str(max(1, args.concurrency // processes)),
               "--number_sample_per_shard", str(math.ceil(rows / processes)), "--timeout", str(int(args.timeout)),
               "--retries", "0", "--enable_wandb", "False", "--min_image_size", "32",
               "--max_image_area", "89478485", "--compute_hash", "sha256",
               "--disallowed_header_directives", '["noai","noimageai"]', "--resize_mode", "no"]
    options += ["--disable_all_reencoding", "True"] if mode == "as-served" else ["--skip_reencode", "True"]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONPATH": ""}
    before = _children_cpu()
    started = time.monotonic()
    proc = subprocess.Popen([str(binary), *options], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    peak = _peak_tree_rss(proc)
    seconds = time.monotonic() - started
    cpu = _children_cpu() - before
    if proc.returncode:
        raise RuntimeError(proc.stderr.read()[-3000:])
    import pyarrow.parquet as pq

    durations = [json.loads(path.read_text())["duration"] for path in out.glob("*_stats.json")]
    tables = [pq.read_table(path, columns=["url", "status", "sha256"]) for path in sorted(out.glob("*.parquet"))]
    kept = {}
    for table in tables:
        for url, status, sha256 in zip(*(table[c].to_pylist() for c in ("url", "status", "sha256"))):
            if status == "success":
                kept[url] = sha256
    return {"seconds": seconds, "images": len(kept), "kept": kept, "peak_rss_mib": peak, "cpu_s": cpu,
            "own_duration_s": max(durations) if durations else float("nan")}


def _children_cpu() -> float:
    """CPU seconds of every child process reaped so far (with their own children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _peak_tree_rss(proc: subprocess.Popen) -> float:
    import psutil

    peak = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        total = 0
        try:
            for member in [root, *root.children(recursive=True)]:
                total += member.memory_info().rss
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.1)
    return peak / 2**20


# ---------------------------------------------------------------------------------------------

def write_inputs(args, work: Path, rows: int, seed: int) -> tuple[Path, Path, object]:
    from mm_assets.samples.cc3m.sample import generate_sample, write_sample

    sample_dir = work / f"sample_{rows}_{seed}"
    sample = generate_sample(rows, seed=seed, failure_share=0.3, realistic=True,
                             distinct_images=args.distinct_images)
    write_sample(sample, sample_dir)
    return sample_dir, sample_dir / "paths.tsv", sample


def index_for(paths_tsv: Path, port: int, dead_port: int, out: Path) -> tuple[Path, Path, list[str]]:
    from mm_assets.samples.cc3m.sample import index_lines

    lines = index_lines(paths_tsv, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dead_port}")
    # every URL distinct, as in CC3M (the images are a pool served under many URLs; the server
    # ignores the query)
    lines = [line + (f"?row={row_id}" if "\thttp://127.0.0.1" in line else "") for row_id, line in enumerate(lines)]
    out.mkdir(parents=True, exist_ok=True)
    index = out / "GCC-training.tsv"
    index.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    urls = out / "urls.tsv"  # img2dataset's input: the same rows with a header
    urls.write_text("caption\turl\n" + "".join(line + "\n" for line in lines), encoding="utf-8")
    return index, urls, [line.split("\t", 1)[1] for line in lines]


def describe_input(sample) -> str:
    behaviours = Counter(row.path.split("/")[1] if row.path.startswith("/") else "bad-url" for row in sample.rows)
    failing = sum(count for name, count in behaviours.items() if name not in ("img", "redirect", "no-head"))
    sizes = sorted(len(data) for data in sample.images.values())
    formats = Counter(name.rsplit(".", 1)[-1] for name in sample.images)
    return (f"input: {len(sample.rows):,} URLs, {failing:,} ({100 * failing / len(sample.rows):.0f} %) made to fail: "
            + ", ".join(f"{name} {count}" for name, count in behaviours.most_common()) + "\n"
            f"images: {len(sizes):,} distinct files ({', '.join(f'{f} {c}' for f, c in formats.most_common())}), "
            f"median {statistics.median(sizes) / 1000:.0f} KB, 10-90 % {sizes[len(sizes) // 10] / 1000:.0f}-"
            f"{sizes[9 * len(sizes) // 10] / 1000:.0f} KB")


def invalid_kept(kept: dict[str, str], ours_data: Path, learned: set[str]) -> Counter:
    """Images img2dataset kept that we reject, by our reason."""
    import pyarrow.parquet as pq

    status = {}
    for path in sorted((ours_data / "cc3m" / "images").glob("*.parquet")):
        table = pq.read_table(path, columns=["url", "status"])
        status.update(zip(table["url"].to_pylist(), table["status"].to_pylist()))
    reasons: Counter = Counter()
    for url, sha256 in kept.items():
        ours = status.get(url)
        if ours != "ok":
            reasons[ours] += 1
        elif sha256 in learned:
            reasons["placeholder (same bytes as a placeholder redirect)"] += 1
    return reasons


def learned_placeholders(ours_data: Path) -> set[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mm_assets.images.placeholders import placeholder_hashes

    tables = [pq.read_table(p, columns=["sha256", "url", "status"]) for p in (ours_data / "cc3m" / "images").glob("*.parquet")]
    table = pa.concat_tables(tables)
    fetched = pa.table({"sha256": table["sha256"], "url": table["url"],
                        "placeholder": [s == "placeholder" for s in table["status"].to_pylist()]})
    # the benchmark reuses a pool of images for many URLs, so repetition is not a placeholder sign here
    return set(placeholder_hashes(fetched, repeats=10**9).learned)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=4000)
    parser.add_argument("--distinct-images", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=len(os.sched_getaffinity(0)),
                        help="img2dataset's processes (its threads: concurrency / processes)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="our image-judging threads")
    parser.add_argument("--server-processes", type=int, default=max(1, len(os.sched_getaffinity(0)) // 2))
    parser.add_argument("--rss-urls", default="1000,4000", help="two index sizes for the peak RSS figures")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cc3m_download_bench"))
    parser.add_argument("--img2dataset-venv", type=Path, default=Path("/work/venvs/img2dataset"))
    parser.add_argument("--skip-img2dataset", action="store_true")
    parser.add_argument("--cpu-repeats", type=int, default=3,
                        help="runs of ours and img2dataset (decode), interleaved, for the median CPU-per-image ratio")
    parser.add_argument("--rss-only", action="store_true", help="only the peak RSS figures")
    parser.add_argument("--seed", type=int, default=0)
    # internal modes
    parser.add_argument("--serve", type=Path)
    parser.add_argument("--port", type=int)
    parser.add_argument("--slow-s", type=float, default=30.0)
    parser.add_argument("--ours", choices=["cache", "check"])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--shard-size", type=int, default=SPEED_SHARD_SIZE)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.port, args.slow_s)
    if args.ours:
        print(json.dumps(run_ours(args.ours, args.index, args.data, args.concurrency, args.timeout, args.workers,
                                  args.shard_size)))
        return

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    if not args.rss_only:
        speed(args, work)
    rss_by_index_size(args, work)


def speed(args, work: Path) -> None:
    binary = None if args.skip_img2dataset else img2dataset_venv(args.img2dataset_venv)
    t0 = time.monotonic()
    sample_dir, paths_tsv, sample = write_inputs(args, work, args.urls, args.seed)
    print(describe_input(sample), f"(generated in {time.monotonic() - t0:.0f} s)", flush=True)
    servers = Servers(sample_dir, args.server_processes, slow_s=args.timeout + 10)
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            dead_port = probe.getsockname()[1]
        index, urls_tsv, urls = index_for(paths_tsv, servers.port, dead_port, work)
        print(f"settings: {args.concurrency} URLs in flight, timeout {args.timeout:g} s, no retries, no resize; "
              f"{len(os.sched_getaffinity(0))} cores; server: {args.server_processes} process(es)", flush=True)

        check = ours_in_a_process("check", index, work / "ours_check", args)
        print(f"ours, availability check (check_shard): {check['urls']:,} URLs in {check['seconds']:.2f} s = "
              f"{check['urls'] / check['seconds']:,.0f} URLs/s; the last answer that was not a timeout came after "
              f"{check['answered_s']:.2f} s: {check['urls'] / check['answered_s']:,.0f} URLs/s before the wait for "
              f"timeouts (target >= 3,000); CPU {check['cpu_s']:.2f} s; peak RSS {check['peak_rss_mib']:.0f} MiB", flush=True)
        server_before = servers.cpu_s()
        cache = ours_in_a_process("cache", index, work / "ours_cache", args)
        cache["server_cpu_s"] = servers.cpu_s() - server_before
        ours_rate = cache["images"] / cache["seconds"]
        ours_wall_rate = cache["images"] / cache["process_s"]
        print(f"ours, image cache (cache_shard): {cache['images']:,} valid images of {cache['urls']:,} URLs in "
              f"{cache['seconds']:.2f} s of work = {ours_rate:,.0f} images/s; {cache['process_s']:.2f} s from "
              f"process launch to exit (imports and the index included) = {ours_wall_rate:,.0f} images/s "
              f"(last answer before the timeouts' wait: {cache['answered_s']:.2f} s); "
              f"{cache['image_bytes'] / 1e6:,.0f} MB stored; CPU {cache['cpu_s']:.1f} s (the work only); "
              f"peak RSS {cache['peak_rss_mib']:.0f} MiB", flush=True)
        print("  ours by class: " + ", ".join(f"{k} {v}" for k, v in sorted(cache["statuses"].items())), flush=True)
        if binary:
            learned = learned_placeholders(work / "ours_cache")
            # its start-up alone: the same command on the first 10 URLs (CPU per image of the work only)
            few = work / "urls_10.tsv"
            few.write_text("".join(urls_tsv.read_text(encoding="utf-8").splitlines(keepends=True)[:11]), encoding="utf-8")
            start_up = run_img2dataset(binary, few, work / "img2dataset_start_up", 10, "decode", args)
            print(f"img2dataset's start-up (the same command on 10 URLs): {start_up['seconds']:.2f} s, "
                  f"CPU {start_up['cpu_s']:.1f} s", flush=True)
            for mode in ("decode", "as-served"):
                server_before = servers.cpu_s()
                theirs = run_img2dataset(binary, urls_tsv, work / f"img2dataset_{mode}", len(urls), mode, args)
                server_cpu = servers.cpu_s() - server_before
                rate = theirs["images"] / theirs["seconds"]
                reasons = invalid_kept(theirs["kept"], work / "ours_cache", learned)
                own = theirs["images"] / theirs["own_duration_s"]
                print(f"img2dataset ({mode}): {theirs['images']:,} images in {theirs['seconds']:.2f} s = {rate:,.0f} "
                      f"images/s (its own shard durations, start-up left out: {theirs['own_duration_s']:.2f} s = "
                      f"{own:,.0f} images/s); CPU {theirs['cpu_s']:.1f} s (start-up included); "
                      f"peak RSS (all processes) {theirs['peak_rss_mib']:.0f} MiB", flush=True)
                print(f"  speed-up ours/img2dataset: {ours_wall_rate / rate:.2f}x wall to wall (both from process launch "
                      f"to exit); {ours_rate / own:.2f}x the work only (ours' shard loop against its own shard durations) "
                      f"(target >= 1.5x); CPU per image: ours {1000 * cache['cpu_s'] / cache['images']:.1f} "
                      f"ms (the work only), img2dataset {1000 * theirs['cpu_s'] / theirs['images']:.1f} ms (start-up "
                      "included)", flush=True)
                print(f"  kept {sum(reasons.values())} images we reject: "
                      + (", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "none"), flush=True)
                if mode == "decode":
                    ratios = [print_cpu_bound(cache, theirs, start_up, server_cpu)]
            for _ in range(args.cpu_repeats - 1):  # the ratio again, ours and theirs interleaved: the load drifts
                again = ours_in_a_process("cache", index, work / "ours_cache", args)
                start_up = run_img2dataset(binary, few, work / "img2dataset_start_up", 10, "decode", args)
                theirs = run_img2dataset(binary, urls_tsv, work / "img2dataset_decode", len(urls), "decode", args)
                ratios.append(cpu_per_kept_image(again, theirs, start_up)[2])
            if len(ratios) > 1:
                middle = statistics.median(ratios)
                print(f"  CPU per kept image, ours over img2dataset (decode), {len(ratios)} interleaved runs: "
                      + ", ".join(f"{r:.2f}x" for r in ratios) + f"; median {middle:.2f}x (goal <= 0.8x: "
                      f"{'met' if middle <= 0.8 else 'not met'})", flush=True)
    finally:
        servers.close()


def cpu_per_kept_image(cache: dict, theirs: dict, start_up: dict) -> tuple[float, float, float]:
    """CPU seconds per kept image of the work alone (server excluded, img2dataset's start-up taken
    off): ours, img2dataset's, and their ratio."""
    ours_alone = cache["cpu_s"] / cache["images"]
    theirs_alone = (theirs["cpu_s"] - start_up["cpu_s"]) / theirs["images"]
    return ours_alone, theirs_alone, ours_alone / theirs_alone


def print_cpu_bound(cache: dict, theirs: dict, start_up: dict, their_server_cpu: float) -> float:
    """What the 1.5x target asks of this machine's cores: both tools' CPU per image for the work
    alone (the server's beside), and how many cores ours would need to reach 1.5x; returns the
    CPU-per-kept-image ratio."""
    cores = len(os.sched_getaffinity(0))
    their_work_cpu = theirs["cpu_s"] - start_up["cpu_s"]
    ours_per_image = (cache["cpu_s"] + cache["server_cpu_s"]) / cache["images"]
    their_per_image = (their_work_cpu + their_server_cpu) / theirs["images"]
    target_s = cache["images"] / (1.5 * theirs["images"] / theirs["own_duration_s"])
    busy = (cache["cpu_s"] + cache["server_cpu_s"]) / cache["seconds"]
    waiting_s = cache["seconds"] - cache["answered_s"]  # after the last answer: only the timeouts run out
    needed = ours_per_image * cache["images"]
    ours_alone, theirs_alone, ratio = cpu_per_kept_image(cache, theirs, start_up)
    print(f"  CPU per kept image, the work alone (server excluded): ours {1000 * ours_alone:.2f} ms, img2dataset "
          f"(decode) {1000 * theirs_alone:.2f} ms (its start-up taken off): ratio {ratio:.2f}x (goal <= 0.8x: "
          f"{'met' if ratio <= 0.8 else 'not met'})", flush=True)
    print(f"  CPU per valid image, the work only, the server's share included: ours {1000 * ours_per_image:.1f} ms, "
          f"img2dataset {1000 * their_per_image:.1f} ms (its start-up taken off); ours kept {busy:.2f} of the "
          f"{cores} cores busy over its {cache['seconds']:.2f} s (the timeouts' wait included). For 1.5x ours would "
          f"have to finish in {target_s:.2f} s: its CPU and the server's need {needed / target_s:.2f} cores over "
          f"all of that, {needed / max(1e-9, target_s - waiting_s):.2f} cores if the last {waiting_s:.2f} s stay a "
          f"wait for timeouts, as here (this machine: {cores})", flush=True)
    return ratio


def rss_by_index_size(args, work: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    sizes = [int(n) for n in args.rss_urls.split(",")]
    rss = []
    for rows in sizes:
        sample_dir, paths_tsv, _ = write_inputs(args, work, rows, args.seed + 1)
        servers = Servers(sample_dir, args.server_processes, slow_s=args.timeout + 10)
        try:
            index, _, _ = index_for(paths_tsv, servers.port, dead_port, work / f"rss_{rows}")
            figures = {kind: ours_in_a_process(kind, index, work / f"rss_{rows}" / kind, args, RSS_SHARD_SIZE)
                       for kind in ("check", "cache")}
        finally:
            servers.close()
        rss.append((rows, figures))
    print(f"peak RSS while working, by index size (shards of {RSS_SHARD_SIZE:,} rows, {args.concurrency} in flight; "
          "before the work, after the imports, in brackets): " + "; ".join(
              f"{rows:,} URLs: check {f['check']['peak_rss_mib']:.0f} MiB ({f['check']['baseline_rss_mib']:.0f}), "
              f"cache {f['cache']['peak_rss_mib']:.0f} MiB ({f['cache']['baseline_rss_mib']:.0f})" for rows, f in rss))


if __name__ == "__main__":
    main()
