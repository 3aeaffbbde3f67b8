"""The full-size rehearsal: every source at a fraction of its real size, every asset through Dagster.

1. Builds every source at `--fraction` of its real size with the real statistics
   (`benchmarks/full_size_sources.py`): OWT slices 0-5 of web-like text, a CC3M index with ~35 %
   failing links served by a loopback server, COCO/Karpathy/VG zips and JSON with real caption
   lengths and image sizes, ImageNet parquet shards of ~110 KB images, GLUE at the hub's row counts.
2. Materializes everything as a user would, with a fresh `DAGSTER_HOME` and data root: the asset
   graph is walked from `mm_assets.definitions.defs` in topological order, one
   `dagster asset materialize --select <asset> [--partition <key>]` per asset and partition (the
   asset's checks run with it), the in-process executor so the step is the CLI's own process.
   Partitions: a dynamic partitions definition's keys are read from the instance after its upstream
   ran; a static one's are all its keys, except OWT's slices, where the settings choose (0-5).
3. Per asset: the step's time (Dagster's STEP_START..STEP_SUCCESS, checks included, CLI start-up
   excluded), CPU (the invocation's rusage less the start-up's), peak RSS (`ru_maxrss` of the
   invocation: its largest process, the step itself or a check's fairseq process), bytes the data
   root grew by, and the data root's peak size (a walk every 0.5 s).
4. The same at full size on 2 and 16 cores. The model: time, CPU and disk linear in the input, a
   straight line through the two largest fractions extrapolated to 1 (so a fixed cost such as a
   check's fairseq start-up stays fixed; with one fraction, x 1/fraction); RSS as measured, printed
   at every fraction side by side (flat, flat from the fraction where a unit of work reaches its real
   size, or growing); partitions
   at full size: static ones as now, dynamic ones the real count (`REAL_PARTITIONS`). A step that used
   at least 1.5 of the 2 cores is taken to use all 16 (its CPU / 16); one that used less is serial and
   keeps its 2-core time (cores used: the CPU over the time that grew between the two fractions, so
   fixed start-up costs do not count). An asset's partitions run side by side: its total on 16 cores
   is its CPU / 16, or its longest step if that is longer.

Prints the machine, each source's input statistics, a table per fraction and the full-size table,
all in Markdown (docs/benchmarks.md takes them as they are).

    .venv/bin/python benchmarks/full_size.py --fraction 0.001 --fraction 0.01 [--workdir DIR] [--keep] [--bpe DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from full_size_sources import OWT_SLICES, Source, build_all  # noqa: E402

# Dynamic partitions at full size (the upstream's unit count): CC3M's 3.3 M rows in 10,000-row
# shards, the hub's 294 train + 14 validation ImageNet parquet files (its 28 test files are not
# used). Another dynamic partitions definition is taken to grow with the input (count / fraction).
REAL_PARTITIONS = {"cc3m_shards": 332, "imagenet_shards": 308}
MACHINE = ""  # the machine's line, saved with the results
IN_PROCESS = "execution:\n  config:\n    in_process: {}\n"
MIB, GB = 2**20, 1e9


# ---------------------------------------------------------------------------------------------
# measuring

def allocated_bytes(root: Path) -> int:
    """Bytes allocated under `root` (st_blocks, as `du` counts them); vanished entries skipped."""
    total, stack = 0, [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
    return total


class DiskPeak:
    """The data root's allocated size, sampled every `interval` s in a thread while running."""

    def __init__(self, root: Path, interval: float = 0.5) -> None:
        self.root, self.interval, self.peak = root, interval, 0
        self._stop = threading.Event()

    def __enter__(self) -> "DiskPeak":
        self.peak = allocated_bytes(self.root)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, allocated_bytes(self.root))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, allocated_bytes(self.root))


@dataclass
class Invocation:
    wall_s: float
    cpu_s: float
    maxrss: int  # bytes
    rc: int


# Runs the command and writes its rusage (CPU, peak RSS) to the file named first. A small process
# of its own starts the command: a child forked from this (large) process would inherit its RSS
# high-water mark, and `ru_maxrss` would never read below it.
_LAUNCHER = """import os, resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{usage.ru_utime + usage.ru_stime} {usage.ru_maxrss * 1024}")
sys.exit(rc)
"""


def invoke(command: list[str], env: dict, log: Path) -> Invocation:
    """Run `command` to completion; its wall time, and the CPU and peak RSS (its largest process) of its tree."""
    usage_file = log.with_suffix(".rusage")
    with log.open("w") as out:
        started = time.perf_counter()
        rc = subprocess.call([sys.executable, "-c", _LAUNCHER, str(usage_file), *command], env=env, cwd=REPO,
                             stdout=out, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - started
    cpu, maxrss = usage_file.read_text().split()
    return Invocation(wall, float(cpu), int(maxrss), rc)


def startup_cpu(env: dict, log: Path) -> float:
    """CPU seconds of loading the code location (taken off every invocation's CPU)."""
    runs = [invoke([sys.executable, "-c", "import mm_assets.definitions"], env, log).cpu_s for _ in range(2)]
    return min(runs)


def step_times(instance, run_id: str, asset_step: str) -> tuple[float, float]:
    """(the asset's step, every other step: its checks) in seconds, from the run's events."""
    from dagster import DagsterEventType

    starts, asset_s, other_s = {}, 0.0, 0.0
    for record in instance.all_logs(run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}):
        if record.dagster_event.event_type == DagsterEventType.STEP_START:
            starts[record.step_key] = record.timestamp
        elif record.step_key in starts:
            seconds = record.timestamp - starts[record.step_key]
            if record.step_key == asset_step:
                asset_s += seconds
            else:
                other_s += seconds
    return asset_s, other_s


# ---------------------------------------------------------------------------------------------
# the graph

def partitions_to_run(node, instance, env: dict) -> list[str | None]:
    """A user's partitions of this asset now: [None] when unpartitioned."""
    import dagster as dg

    definition = node.partitions_def
    if definition is None:
        return [None]
    if isinstance(definition, dg.DynamicPartitionsDefinition):
        return sorted(instance.get_dynamic_partitions(definition.name))
    keys = list(definition.get_partition_keys())
    from mm_assets.datasets.owt.slices import PARTITION_KEYS, parse_slice_spec, partition_key
    if keys == list(PARTITION_KEYS):  # OWT's slices: the ones the settings choose
        chosen = {partition_key(n) for name in ("MM_OWT_TRAIN_SLICES", "MM_OWT_VALID_SLICES")
                  for n in parse_slice_spec(env[name])}
        keys = [k for k in keys if k in chosen]
    return keys


@dataclass
class AssetFigures:
    asset: str
    partition_def: str | None = None  # the dynamic partitions' name, "static", or None
    partitions: int = 0
    step_s: float = 0.0  # the asset's steps
    checks_s: float = 0.0
    cli_s: float = 0.0
    cpu_s: float = 0.0
    longest_s: float = 0.0  # the longest single partition (step + checks)
    rss: int = 0
    written: int = 0
    peak_disk: int = 0
    failed: list = field(default_factory=list)


def save_results(path: Path, figures: list[AssetFigures], sources: list, totals: dict, *, complete: bool) -> None:
    """The figures so far (after every asset), so a run stopped early still gives its tables (`--tables-only`)."""
    path.write_text(json.dumps({
        "machine": MACHINE, "complete": complete, "figures": [dataclasses.asdict(f) for f in figures],
        "sources": [{"name": s.name, "settings": s.settings, "statistics": s.statistics, "bytes": s.bytes}
                    for s in sources], "totals": totals}))


def source_bytes(sources: list, cc3m_index: Path) -> int:
    """What a user downloads as files: every mirror, CC3M's index (its images are the crawl's)."""
    return sum(s.bytes for s in sources if s.name != "cc3m") + cc3m_index.stat().st_size


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rehearse(fraction: float, work: Path, bpe: str, keep: bool) -> tuple[list[AssetFigures], list, dict]:
    import dagster as dg
    from cc3m_download import Servers, index_for

    sources_root = work / f"sources_{fraction:g}"
    print(f"\n== fraction {fraction:g}: sources in {sources_root}", flush=True)
    started = time.perf_counter()
    sources = build_all(sources_root, fraction, Path(bpe))
    build_s = time.perf_counter() - started
    run_root = work / f"run_{fraction:g}"
    shutil.rmtree(run_root, ignore_errors=True)
    home, data, logs = run_root / "home", run_root / "data", run_root / "logs"
    for folder in (home, data, logs):
        folder.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    (run_root / "in_process.yaml").write_text(IN_PROCESS)

    cc3m = next(s for s in sources if s.name == "cc3m")
    servers = Servers(cc3m.extra["sample_dir"], processes=1, slow_s=30)
    try:
        index, _, _ = index_for(cc3m.extra["paths_tsv"], servers.port, free_port(), run_root / "cc3m_index")
        env = {**os.environ, "DAGSTER_HOME": str(home), "MM_DATA_ROOT": str(data), "MM_GPT2_BPE_URL": bpe,
               "MM_HTTP_ALLOW_PRIVATE": "1", "MM_CC3M_INDEX_URL": str(index), "MM_HTTP_TIMEOUT_S": "5"}
        env.pop("MM_EXECUTOR", None)
        for source in sources:
            env.update(source.settings)
        start_cpu = startup_cpu(env, logs / "startup.log")
        os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "MM_DATA_ROOT")})
        from mm_assets.definitions import defs

        graph = defs.resolve_asset_graph()
        instance = dg.DagsterInstance.from_config(str(home))
        dagster = str(Path(sys.executable).parent / "dagster")
        figures = []
        for key in graph.toposorted_asset_keys:
            node = graph.get(key)
            if not node.is_materializable:
                continue
            name = key.to_user_string()
            partitions_def = node.partitions_def
            figure = AssetFigures(name, partitions_def and getattr(partitions_def, "name", None) or
                                  ("static" if partitions_def else None))
            for partition in partitions_to_run(node, instance, env):
                command = [dagster, "asset", "materialize", "-m", "mm_assets.definitions", "--select", name,
                           "-c", str(run_root / "in_process.yaml")]
                if partition is not None:
                    command += ["--partition", partition]
                label = name + (f"[{partition}]" if partition else "")
                before = allocated_bytes(data)
                with DiskPeak(data) as disk:
                    result = invoke(command, env, logs / f"{label}.log")
                run = instance.get_runs(limit=1)[0]
                asset_s, checks_s = step_times(instance, run.run_id, "__".join(key.path))
                figure.partitions += 1
                figure.step_s += asset_s
                figure.checks_s += checks_s
                figure.longest_s = max(figure.longest_s, asset_s + checks_s)
                figure.cli_s += result.wall_s
                figure.cpu_s += max(0.0, result.cpu_s - start_cpu)
                figure.rss = max(figure.rss, result.maxrss)
                figure.written += allocated_bytes(data) - before
                figure.peak_disk = max(figure.peak_disk, disk.peak)
                status = "ok" if result.rc == 0 else f"FAILED (rc {result.rc}, log {logs / (label + '.log')})"
                if result.rc:
                    figure.failed.append(partition or "-")
                    print((logs / f"{label}.log").read_text()[-3000:], flush=True)
                print(f"  {label}: {status}, step {asset_s:.1f} s + checks {checks_s:.1f} s, CLI {result.wall_s:.1f} s, "
                      f"RSS {result.maxrss / MIB:.0f} MiB, data root {allocated_bytes(data) / 1e6:,.0f} MB", flush=True)
            figures.append(figure)
            totals = {"build_s": build_s, "final": allocated_bytes(data), "peak": max(f.peak_disk for f in figures),
                      "sources": source_bytes(sources, index), "startup_cpu_s": start_cpu}
            save_results(work / f"results_{fraction:g}.json", figures, sources, totals, complete=False)
        totals["complete"] = True
        save_results(work / f"results_{fraction:g}.json", figures, sources, totals, complete=True)
    finally:
        servers.close()
    if not keep:
        shutil.rmtree(data, ignore_errors=True)
    return figures, sources, totals


# ---------------------------------------------------------------------------------------------
# the tables

def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f}" if abs(n) >= 1e6 else f"{n / 1e6:,.2f}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def measured_table(fraction: float, figures: list[AssetFigures], totals: dict) -> str:
    stopped = "" if totals.get("complete", True) else f" (stopped early: the assets up to {figures[-1].asset} only)"
    lines = [f"Measured at {fraction:g} of full size{stopped}:", "",
             "| asset | partitions | step s | checks s | CLI s | CPU s | peak RSS MiB | written MB | peak data root MB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for f in figures:
        failed = f" (failed: {', '.join(f.failed)})" if f.failed else ""
        lines.append(f"| {f.asset}{failed} | {f.partitions} | {f.step_s:.1f} | {f.checks_s:.1f} | {f.cli_s:.1f} | "
                     f"{f.cpu_s:.1f} | {f.rss / MIB:,.0f} | {_mb(f.written)} | {_mb(f.peak_disk)} |")
    lines.append(f"| **all** | {sum(f.partitions for f in figures)} | {sum(f.step_s for f in figures):.0f} | "
                 f"{sum(f.checks_s for f in figures):.0f} | {sum(f.cli_s for f in figures):.0f} | "
                 f"{sum(f.cpu_s for f in figures):.0f} | {max(f.rss for f in figures) / MIB:,.0f} | "
                 f"{_mb(totals['final'])} | {_mb(totals['peak'])} |")
    return "\n".join(lines)


def extrapolate(points: list[tuple[float, float]]) -> tuple[float, bool]:
    """(the value at fraction 1, whether it is only an upper bound).

    A straight line through the two largest fractions' values, so a fixed cost (a check's fairseq
    start-up) stays fixed. From one fraction, or where the larger fraction measured less (noise
    larger than the growth: a shared machine), the largest fraction's value in proportion: an upper
    bound, since its fixed costs are scaled with it."""
    points = sorted(points)
    fraction, value = points[-1]
    if len(points) > 1:
        f1, v1 = points[-2]
        slope = (value - v1) / (fraction - f1)
        if slope > 0:
            return value + slope * (1 - fraction), False
    return value / fraction, True


def full_size(series: list[tuple[float, AssetFigures]]) -> dict:
    """The model of the module's docstring, for one asset measured at one or more fractions."""
    fraction, f = max(series, key=lambda item: item[0])
    if f.partition_def in (None, "static"):
        partitions = f.partitions
    else:
        partitions = REAL_PARTITIONS.get(f.partition_def, round(f.partitions / fraction))
    time2, bound = extrapolate([(fr, x.step_s + x.checks_s) for fr, x in series])
    written, _ = extrapolate([(fr, x.written) for fr, x in series])
    step2 = time2 / max(1, partitions)
    # cores used by the work that grows with the input (CPU over time between the two fractions;
    # the CLI's and a check's fixed start-up would distort a plain ratio at a small fraction)
    if len(series) > 1:
        (f1, a), (f2, b) = sorted(series, key=lambda item: item[0])[-2:]
        grown_s = (b.step_s + b.checks_s) - (a.step_s + a.checks_s)
        cores_used = (b.cpu_s - a.cpu_s) / grown_s if grown_s > 0 else None
    else:
        cores_used = None
    if cores_used is None:  # one fraction, or no growth to measure: the largest fraction's own ratio
        cores_used = f.cpu_s / (f.step_s + f.checks_s) if f.step_s + f.checks_s > 0 else 0.0
    cores_used = min(2.0, max(0.0, cores_used))
    parallel = cores_used >= 1.5
    step16 = step2 * cores_used / 16 if parallel else step2
    time16 = step16 if partitions <= 1 else max(step16, time2 * max(1.0, cores_used) / 16)
    return {"upper_bound": bound, "partitions": partitions, "time2": time2, "step2": step2, "time16": time16, "step16": step16,
            "cores_used": cores_used, "split": partitions > 1 or parallel, "written": written}


def rss_trend(measured: list[float], fractions: list[float]) -> str:
    """'flat' when the peak RSS at the largest fraction is under 1.2x the smallest's. Otherwise the
    growth, and where it stops: a unit of work (a CC3M shard, an ImageNet file, the encoder's window
    of blocks) is smaller than its real size at the smallest fractions and grows up to it, so memory
    that is flat from some fraction on says 'flat from' that fraction."""
    growth = measured[-1] / measured[0] if measured[0] else 1.0
    if growth < 1.2:
        return "flat"
    since = next(fr for fr, rss in zip(fractions, measured) if measured[-1] / rss < 1.2)
    if since < fractions[-1]:
        return f"flat from {since:g} (x{growth:.1f} from {fractions[0]:g})"
    return f"grows x{growth:.1f}"


def full_size_table(runs: dict[float, tuple[list[AssetFigures], list, dict]]) -> str:
    fractions = sorted(runs)
    largest = fractions[-1]
    figures = max((runs[fr][0] for fr in fractions), key=len)  # every asset, also of a run stopped early
    rss_heads = " | ".join(f"RSS MiB at {fr:g}" for fr in fractions)
    model = ("a straight line through " + " and ".join(f"{fr:g}" for fr in fractions[-2:])
             if len(fractions) > 1 else f"x {1 / largest:,.0f}")
    lines = [f"Extrapolated to full size (time, CPU, disk: {model}; RSS as measured):", "",
             f"| asset | {rss_heads} | RSS | partitions | cores used (of 2) | 2 cores: all | 2 cores: one step | "
             "16 cores: all | 16 cores: one step | split over workers | written GB |",
             "| --- | " + " | ".join("---:" for _ in fractions)
             + " | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    by_fraction = {fr: {f.asset: f for f in runs[fr][0]} for fr in fractions}
    sum2 = sum16 = 0.0
    for f in figures:
        full = full_size([(fr, by_fraction[fr][f.asset]) for fr in fractions if f.asset in by_fraction[fr]])
        sum2 += full["time2"]
        sum16 += full["time16"]
        rss = " | ".join(f"{by_fraction[fr][f.asset].rss / MIB:,.0f}" if f.asset in by_fraction[fr] else "-"
                         for fr in fractions)
        bound = " (upper bound)" if full["upper_bound"] and len(fractions) > 1 else ""
        measured = [by_fraction[fr][f.asset].rss for fr in fractions if f.asset in by_fraction[fr]]
        rss += " | " + rss_trend(measured, [fr for fr in fractions if f.asset in by_fraction[fr]])
        lines.append(f"| {f.asset}{bound} | {rss} | {full['partitions']} | {full['cores_used']:.1f} | "
                     f"{_duration(full['time2'])} | "
                     f"{_duration(full['step2'])} | {_duration(full['time16'])} | {_duration(full['step16'])} | "
                     f"{'yes' if full['split'] else 'no'} | {full['written'] / GB:,.1f} |")
    complete = [fr for fr in fractions if runs[fr][2].get("complete", True)] or fractions
    final, _ = extrapolate([(fr, runs[fr][2]["final"]) for fr in complete])
    sources, _ = extrapolate([(fr, runs[fr][2]["sources"]) for fr in complete])
    ratios = ", ".join(f"{runs[fr][2]['peak'] / max(1, runs[fr][2]['final']):.2f}x at {fr:g}" for fr in complete)
    if len(fractions) > 1:
        lines += ["", "An upper bound: measured at one fraction only, or the larger fraction took less time "
                  "(noise), so the largest fraction's time is scaled in proportion, fixed costs (a check's "
                  "fairseq start-up) with it."]
    lines += ["", f"All assets one after another: {_duration(sum2)} on 2 cores, {_duration(sum16)} on 16 cores "
              "(each asset's partitions side by side; assets in sequence).",
              f"Data root at full size: {final / GB:,.0f} GB at the end; its peak over the final size: {ratios}; "
              f"sources {sources / GB:,.0f} GB."]
    return "\n".join(lines)


def machine(work: Path) -> str:
    import psutil

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    disk = shutil.disk_usage(work)
    return (f"{len(os.sched_getaffinity(0))} cores ({model}), {psutil.virtual_memory().total / 2**30:.0f} GiB memory, "
            f"disk {disk.free / 1e9:,.0f} GB free of {disk.total / 1e9:,.0f} GB; Python {sys.version.split()[0]}; "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fraction", type=float, action="append",
                        help="share of the real sizes, repeatable (default 0.001 and 0.002)")
    parser.add_argument("--workdir", type=Path, default=Path("bench_work/full_size"))
    parser.add_argument("--keep", action="store_true", help="keep each run's data root (the sources are always kept)")
    parser.add_argument("--bpe", default=os.environ.get("MM_GPT2_BPE_URL", str(REPO.parent / "shared" / "gpt2_bpe")),
                        help="folder (or URL) of the GPT-2 BPE files")
    parser.add_argument("--tables-only", action="store_true",
                        help="print the tables again from the results a finished run saved in the workdir")
    parser.add_argument("--reuse-finished", action="store_true",
                        help="a fraction whose finished results are in the workdir is not run again (add a fraction "
                             "to an earlier run)")
    args = parser.parse_args()
    fractions = sorted(set(args.fraction or [0.001, 0.002]))
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    bpe = args.bpe
    if "://" in bpe:  # the source builders read the files directly: fetch them once
        from mm_assets.text.gpt2_bpe import fetch_gpt2_bpe
        fetch_gpt2_bpe(bpe, work / "gpt2_bpe")
        bpe = str(work / "gpt2_bpe")
    global MACHINE
    header = MACHINE = machine(work)
    print(header, flush=True)
    runs = {}
    for fraction in fractions:
        results = work / f"results_{fraction:g}.json"
        saved = json.loads(results.read_text()) if results.exists() else None
        if args.tables_only or (args.reuse_finished and saved and saved.get("complete", True)):
            sources = [Source(**s) for s in saved["sources"]]
            saved["totals"]["sources"] = source_bytes(sources, work / f"run_{fraction:g}" / "cc3m_index" / "GCC-training.tsv")
            saved["totals"]["complete"] = saved.get("complete", True)
            runs[fraction] = ([AssetFigures(**f) for f in saved["figures"]], sources, saved["totals"])
            header = saved["machine"]
            continue
        runs[fraction] = rehearse(fraction, work, bpe, args.keep)
        print(measured_table(fraction, *runs[fraction][::2]), flush=True)

    print("\n## Full-size rehearsal\n")
    print(f"Machine: {header}. OWT slices {OWT_SLICES['train']} / {OWT_SLICES['valid']}.\n")
    for fraction in fractions:
        figures, sources, totals = runs[fraction]
        print(f"Inputs at {fraction:g} (generated in {_duration(totals['build_s'])}, {totals['sources'] / 1e6:,.0f} MB):\n")
        for source in sources:
            print(f"- {source.name}: {source.statistics}")
        print()
        print(measured_table(fraction, figures, totals) + "\n")
    print(full_size_table(runs))


if __name__ == "__main__":
    main()
