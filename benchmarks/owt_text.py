"""The OWT text chain against the fairseq recipe and against this machine's limit, in one run.

1. A mirror in the hub's nested tar/xz layout, of web-like text (real English prose harvested from
   the installed Python files, with a long tail of names, numbers and URLs: see
   `mm_assets/samples/owt/web_text.py`): a train slice of `--text-mb` MB and a valid slice of
   `--valid-mb` MB. Their statistics (bytes per GPT-2 token, new word types per MB) are printed
   next to every figure.
2. The chain through Dagster, as users run it: `dagster asset materialize` for owt_raw_slice,
   owt_clean_slice and owt_binarized_slice per partition, then owt_fairseq_data; the figure is the
   sum of those four assets' step durations (from the run's STEP_START/STEP_SUCCESS events; the
   asset checks are separate steps and left out).
3. The same library functions called directly, without Dagster.
4. The machine's limit: tiktoken over the cleaned text in one call per core, plus xz
   decompression of every member, each spread over the same cores.
5. The reference: fairseq's multiprocessing_bpe_encoder.py + fairseq-preprocess on the cleaned
   text, with the same number of workers. Its data directory must be byte-identical to ours.

Prints the ratio reference / chain, the chain's share of the limit, and peak RSS (the summed
RSS of each side's whole process tree).

    .venv/bin/python benchmarks/owt_text.py --text-mb 150 --valid-mb 15 [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from mm_assets.datasets.owt.archive import decompress_member, iter_xz_members
from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.datasets.owt.data_dir import write_data_dir
from mm_assets.datasets.owt.paths import DATA_DIR_FILES, OwtPaths
from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.judge.recipe import run_recipe
from mm_assets.samples.owt.mirror import generate_mirror
from mm_assets.samples.owt.web_text import WebLikeText, corpus_statistics
from mm_assets.text.binarize import binarize_text, iter_line_blocks
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles, fetch_gpt2_bpe, load_encoding

TRAIN, VALID = 0, 5
CHAIN_ASSETS = ("owt_raw_slice", "owt_clean_slice", "owt_binarized_slice", "owt_fairseq_data")


class PeakRss:
    """Samples the summed RSS of this process and all its descendants."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self) -> "PeakRss":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def __str__(self) -> str:
        return f"{self.peak / 2**20:.0f} MiB"


def make_mirror(mirror: Path, text_mb: float, valid_mb: float) -> None:
    if (mirror / ".complete").exists():
        return
    print(f"generating a web-like mirror in {mirror} ({text_mb:g} + {valid_mb:g} MB) ...", flush=True)
    for number, megabytes, seed in ((TRAIN, text_mb, 1), (VALID, valid_mb, 2)):
        generate_mirror(mirror, [number], bytes_per_slice=int(megabytes * 1e6), text=WebLikeText(seed),
                        edge_cases=False, docs_per_member=200, preset=6, workers=len(os.sched_getaffinity(0)))
    (mirror / ".complete").touch()


def step_durations(dagster_home: Path) -> dict[str, float]:
    """Seconds per asset, summed over its steps in every run of this instance."""
    from dagster import DagsterEventType, DagsterInstance

    instance = DagsterInstance.from_config(str(dagster_home))
    starts: dict[tuple[str, str], float] = {}
    totals: dict[str, float] = {}
    for run in instance.get_runs():
        for record in instance.all_logs(run.run_id, of_type={DagsterEventType.STEP_START,
                                                             DagsterEventType.STEP_SUCCESS}):
            key = (run.run_id, record.step_key)
            if record.dagster_event.event_type == DagsterEventType.STEP_START:
                starts[key] = record.timestamp
            else:
                totals[record.step_key] = totals.get(record.step_key, 0.0) + record.timestamp - starts[key]
    return totals


def run_through_dagster(mirror: Path, work: Path, bpe_dir: Path, workers: int) -> tuple[dict, Path]:
    root = work / "dagster"
    shutil.rmtree(root, ignore_errors=True)
    (root / "home").mkdir(parents=True)
    env = {**os.environ, "DAGSTER_HOME": str(root / "home"), "MM_DATA_ROOT": str(root / "data"),
           "MM_OWT_URL": str(mirror), "MM_GPT2_BPE_URL": str(bpe_dir), "MM_WORKERS": str(workers),
           "MM_OWT_TRAIN_SLICES": str(TRAIN), "MM_OWT_VALID_SLICES": str(VALID),
           "MM_RAW_FILES": "keep"}  # the statistics below read the cleaned text the chain wrote
    dagster = str(Path(sys.executable).parent / "dagster")

    def materialize(*args: str) -> None:
        subprocess.run([dagster, "asset", "materialize", "-m", "mm_assets.definitions", *args],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    materialize("--select", "gpt2_bpe")  # not part of the chain: the recipe gets the files too
    for number in (TRAIN, VALID):
        materialize("--select", "owt_raw_slice,owt_clean_slice,owt_binarized_slice", "--partition", f"{number:02d}")
    materialize("--select", "owt_fairseq_data")
    durations = step_durations(root / "home")
    return {asset: durations.get(asset, 0.0) for asset in CHAIN_ASSETS}, root / "data" / "owt"


def run_direct(mirror: Path, work: Path, bpe_dir: Path, workers: int) -> dict:
    paths = OwtPaths(work / "direct")
    shutil.rmtree(paths.root, ignore_errors=True)
    timings = {"copy_s": 0.0, "clean_s": 0.0, "binarize_s": 0.0}
    for number in (TRAIN, VALID):
        started = time.perf_counter()
        paths.raw_slice(number).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / slice_hub_path(number), paths.raw_slice(number))
        timings["copy_s"] += time.perf_counter() - started
        started = time.perf_counter()
        clean_slice(paths.raw_slice(number), paths.clean_slice(number), workers=workers)
        timings["clean_s"] += time.perf_counter() - started
        started = time.perf_counter()
        binarize_text(paths.clean_slice(number), paths.binarized_prefix(number), bpe_dir, workers=workers)
        timings["binarize_s"] += time.perf_counter() - started
    started = time.perf_counter()
    write_data_dir(paths, {"train": [TRAIN], "valid": [VALID]}, bpe_dir / "dict.txt")
    timings["merge_s"] = time.perf_counter() - started
    return timings


def machine_limit(mirror: Path, texts: list[Path], bpe_dir: Path, workers: int) -> dict:
    """tiktoken in one call per core over all the text, plus xz decompression over the same cores."""
    encoding = load_encoding(Gpt2BpeFiles(bpe_dir))
    data = b"".join(path.read_bytes() for path in texts)
    cuts = [0] + [data.index(b"\n", len(data) * i // workers) + 1 for i in range(1, workers)] + [len(data)]
    parts = [data[a:b].decode("utf-8") for a, b in zip(cuts, cuts[1:])]
    del data
    with ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        list(pool.map(lambda text: encoding.encode_to_numpy(text, allowed_special=set(), disallowed_special=()), parts))
        tiktoken_s = time.perf_counter() - started
    del parts
    members = [m for n in (TRAIN, VALID) for m in iter_xz_members(mirror / slice_hub_path(n))]
    with ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        list(pool.map(lambda member: len(decompress_member(member)), members))
        xz_s = time.perf_counter() - started
    return {"tiktoken_s": tiktoken_s, "xz_s": xz_s, "total_s": tiktoken_s + xz_s}


def text_statistics(texts: list[Path], bpe_dir: Path) -> tuple[str, str]:
    """Bytes per GPT-2 token and new word types per MB of the cleaned text (a corpus with a small
    vocabulary would flatter the reference's per-word BPE cache): in full, and as a short tag
    printed beside every figure."""
    encoding = load_encoding(Gpt2BpeFiles(bpe_dir))
    stats = corpus_statistics((block for path in texts for block in iter_line_blocks(path, 1 << 20)), encoding)
    per_mb = stats["new_word_types_per_mb"]
    full = (f"{stats['tokens']:,} GPT-2 tokens, {stats['bytes_per_token']:.2f} bytes/token, "
            f"{stats['word_types']:,} word types; new word types per MB: first {per_mb[0]:,}, "
            f"last {per_mb[-1]:,}")
    tag = (f"[text: {stats['bytes_per_token']:.2f} B/token, {stats['word_types']:,} word types, "
           f"{per_mb[-1]:,} new types/MB at the end]")
    return full, tag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text-mb", type=float, default=150.0, help="size of the train slice's text")
    parser.add_argument("--valid-mb", type=float, default=15.0, help="size of the valid slice's text")
    parser.add_argument("--workdir", type=Path, default=Path("bench_work"))
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--bpe", default=os.environ.get("MM_GPT2_BPE_URL", "https://dl.fbaipublicfiles.com/fairseq/gpt2_bpe"))
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()

    work = args.workdir.resolve()
    bpe_dir = work / "gpt2_bpe"
    fetch_gpt2_bpe(args.bpe, bpe_dir)
    mirror = work / f"web_mirror_{args.text_mb:g}_{args.valid_mb:g}mb"
    make_mirror(mirror, args.text_mb, args.valid_mb)

    with PeakRss() as dagster_rss:
        steps, dagster_out = run_through_dagster(mirror, work, bpe_dir, args.workers)
    chain_s = sum(steps.values())
    texts = [OwtPaths(dagster_out).clean_slice(n) for n in (TRAIN, VALID)]
    text_mb = sum(path.stat().st_size for path in texts) / 1e6
    stats, tag = text_statistics(texts, bpe_dir)
    with PeakRss() as direct_rss:
        direct = run_direct(mirror, work, bpe_dir, args.workers)
    direct_s = sum(direct.values())
    limit = machine_limit(mirror, texts, bpe_dir, args.workers)

    print(f"\ntext: {text_mb:.1f} MB cleaned (train {texts[0].stat().st_size / 1e6:.1f} MB, valid "
          f"{texts[1].stat().st_size / 1e6:.1f} MB), {stats}; {args.workers} workers")
    print("chain through Dagster (sum of step durations): " + " + ".join(
        f"{asset} {seconds:.2f} s" for asset, seconds in steps.items()) +
        f" = {chain_s:.2f} s; {text_mb / chain_s:.1f} MB/s; peak RSS {dagster_rss} {tag}")
    print("chain by direct calls: " + " + ".join(f"{k[:-2]} {v:.2f} s" for k, v in direct.items()) +
          f" = {direct_s:.2f} s; peak RSS {direct_rss} {tag}")
    print(f"machine limit: tiktoken one call per core {limit['tiktoken_s']:.2f} s + xz {limit['xz_s']:.2f} s "
          f"= {limit['total_s']:.2f} s; the chain through Dagster reaches {100 * limit['total_s'] / chain_s:.0f} % "
          f"of it (direct calls: {100 * limit['total_s'] / direct_s:.0f} %) {tag}")
    if args.skip_reference:
        return
    ref_dir = work / "reference"
    shutil.rmtree(ref_dir, ignore_errors=True)
    with PeakRss() as ref_rss:
        ref = run_recipe([texts[0]], [texts[1]], bpe_dir, ref_dir / "data", ref_dir / "work", workers=args.workers)
    ref_s = ref["encode_s"] + ref["preprocess_s"]
    print(f"reference (fairseq recipe): encode {ref['encode_s']:.1f} s + preprocess {ref['preprocess_s']:.1f} s "
          f"= {ref_s:.1f} s; {text_mb / ref_s:.2f} MB/s; peak RSS {ref_rss} {tag}")
    same = all((OwtPaths(dagster_out).fairseq_dir / name).read_bytes() == (ref_dir / "data" / name).read_bytes()
               for name in DATA_DIR_FILES)
    print(f"outputs byte-identical: {same}")
    print(f"speed-up, reference / chain: through Dagster {ref_s / chain_s:.1f}x, direct calls {ref_s / direct_s:.1f}x; "
          f"the limit would be {ref_s / limit['total_s']:.1f}x {tag}")
    if not same:
        raise SystemExit("outputs differ")


if __name__ == "__main__":
    main()
