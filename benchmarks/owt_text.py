"""OWT text chain vs the fairseq recipe, on the same cores and the same input, in one run.

Generates (or takes, with --mirror) an OWT mirror in the real nested tar/xz layout: a large train
slice and a small valid slice. Then:
  ours:      raw slice -> clean -> binarize (each slice), then merge into a data directory
             (the sum of the steps' durations, as the Dagster assets run them);
  reference: fairseq's multiprocessing_bpe_encoder.py + fairseq-preprocess on our cleaned text.
Checks that the two data directories are byte-identical and prints MB/s, tokens/s, the peak RSS
of each side's whole process tree, and the speed ratio.

    .venv/bin/python benchmarks/owt_text.py --text-mb 130 [--workers 2] [--workdir bench_work]
"""

import argparse
import os
import shutil
import threading
import time
from pathlib import Path

import psutil

from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.datasets.owt.data_dir import write_data_dir
from mm_assets.datasets.owt.mirror import generate_mirror
from mm_assets.datasets.owt.paths import DATA_DIR_FILES, OwtPaths
from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.judge.recipe import run_recipe
from mm_assets.text.binarize import binarize_text
from mm_assets.text.gpt2_bpe import fetch_gpt2_bpe

TRAIN, VALID = 0, 5


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


def run_ours(mirror: Path, out: Path, bpe_dir: Path, workers: int) -> dict:
    timings, tokens = {}, 0
    paths = OwtPaths(out)
    for number in (TRAIN, VALID):
        raw = mirror / slice_hub_path(number)
        started = time.perf_counter()
        clean_slice(raw, paths.clean_slice(number), workers=workers)
        timings["clean_s"] = timings.get("clean_s", 0) + time.perf_counter() - started
        started = time.perf_counter()
        counts = binarize_text(paths.clean_slice(number), paths.binarized_prefix(number), bpe_dir, workers=workers)
        timings["binarize_s"] = timings.get("binarize_s", 0) + time.perf_counter() - started
        tokens += counts["tokens"]
    started = time.perf_counter()
    write_data_dir(paths, {"train": [TRAIN], "valid": [VALID]}, bpe_dir / "dict.txt")
    timings["merge_s"] = time.perf_counter() - started
    timings["tokens"] = tokens
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text-mb", type=float, default=130.0, help="size of the train slice's text")
    parser.add_argument("--valid-fraction", type=float, default=0.05)
    parser.add_argument("--mirror", type=Path, help="an existing mirror with slices 00 and 05")
    parser.add_argument("--workdir", type=Path, default=Path("bench_work"))
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--bpe", default=os.environ.get("MM_GPT2_BPE_URL", "https://dl.fbaipublicfiles.com/fairseq/gpt2_bpe"))
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()

    work = args.workdir.resolve()
    bpe_dir = work / "gpt2_bpe"
    fetch_gpt2_bpe(args.bpe, bpe_dir)
    mirror = args.mirror
    if mirror is None:
        mirror = work / f"mirror_{args.text_mb:g}mb"
        if not (mirror / ".complete").exists():
            print(f"generating a {args.text_mb:g} MB mirror in {mirror} ...", flush=True)
            generate_mirror(mirror, [TRAIN], bytes_per_slice=int(args.text_mb * 1e6), seed=1)
            generate_mirror(mirror, [VALID], bytes_per_slice=int(args.text_mb * 1e6 * args.valid_fraction), seed=2)
            (mirror / ".complete").touch()

    ours_dir = work / "ours"
    shutil.rmtree(ours_dir, ignore_errors=True)
    with PeakRss() as ours_rss:
        ours = run_ours(mirror, ours_dir, bpe_dir, args.workers)
    ours_total = ours["clean_s"] + ours["binarize_s"] + ours["merge_s"]
    text_mb = sum(OwtPaths(ours_dir).clean_slice(n).stat().st_size for n in (TRAIN, VALID)) / 1e6
    print(f"\ntext: {text_mb:.1f} MB cleaned, {ours['tokens']:,} tokens, {args.workers} workers")
    print(f"ours:      clean {ours['clean_s']:.1f} s + binarize {ours['binarize_s']:.1f} s + merge "
          f"{ours['merge_s']:.1f} s = {ours_total:.1f} s; {text_mb / ours_total:.1f} MB/s, "
          f"{ours['tokens'] / ours_total / 1e6:.2f} M tokens/s, peak RSS {ours_rss.peak / 2**20:.0f} MiB")
    if args.skip_reference:
        return
    ref_dir = work / "reference"
    shutil.rmtree(ref_dir, ignore_errors=True)
    with PeakRss() as ref_rss:
        ref = run_recipe([OwtPaths(ours_dir).clean_slice(TRAIN)], [OwtPaths(ours_dir).clean_slice(VALID)],
                         bpe_dir, ref_dir / "data", ref_dir / "work", workers=args.workers)
    ref_total = ref["encode_s"] + ref["preprocess_s"]
    print(f"reference: encode {ref['encode_s']:.1f} s + preprocess {ref['preprocess_s']:.1f} s = {ref_total:.1f} s; "
          f"{text_mb / ref_total:.2f} MB/s, {ours['tokens'] / ref_total / 1e6:.2f} M tokens/s, "
          f"peak RSS {ref_rss.peak / 2**20:.0f} MiB")
    same = all((OwtPaths(ours_dir).fairseq_dir / n).read_bytes() == (ref_dir / "data" / n).read_bytes()
               for n in DATA_DIR_FILES)
    print(f"outputs byte-identical: {same}")
    print(f"speed-up (reference / ours, whole chain): {ref_total / ours_total:.1f}x")
    if not same:
        raise SystemExit("outputs differ")


if __name__ == "__main__":
    main()
