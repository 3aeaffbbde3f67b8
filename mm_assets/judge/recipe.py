"""The fairseq recipe the researchers used before, run for real as the reference.

1. `examples/roberta/multiprocessing_bpe_encoder.py` (shipped inside the fairseq package) encodes
   each cleaned text file line by line with fairseq's GPT-2 encoder;
2. `fairseq-preprocess --only-source --srcdict dict.txt --dataset-impl mmap` binarizes the result.

Runs from any Python: both steps are subprocesses of the fairseq interpreter.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mm_assets.judge import DEFAULT_FAIRSEQ_PYTHON


def default_fairseq_python() -> str:
    """MM_FAIRSEQ_PYTHON, else the interpreter of the environment the Makefile builds."""
    return os.environ.get("MM_FAIRSEQ_PYTHON") or DEFAULT_FAIRSEQ_PYTHON


class ReferenceHung(RuntimeError):
    """A reference run outlived its time limit (and was killed with its children)."""


def run_reference(command: list[str], *, timeout_s: float, attempts: int = 3, **popen_options) -> str:
    """Run a fairseq command to completion; return its stderr, raise CalledProcessError if it fails.

    fairseq's scripts use `multiprocessing.Pool`, whose teardown can block forever: a worker waits
    on the pool's queue lock after its sibling was terminated (seen here once, under load, with
    every output line already written). A run past `timeout_s` is therefore killed with its
    children and started again (it rewrites its outputs), up to `attempts` times in all.
    """
    for attempt in range(1, attempts + 1):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True, **popen_options)
        try:
            _, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            print(f"reference run killed after {timeout_s:.0f} s (attempt {attempt} of {attempts}): "
                  f"{' '.join(command[:4])} ...", file=sys.stderr, flush=True)
            continue
        if process.returncode:
            raise subprocess.CalledProcessError(process.returncode, command, stderr=stderr)
        return stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    raise ReferenceHung(f"{' '.join(command[:4])} ... did not finish within {timeout_s:.0f} s, {attempts} times")


def _time_limit(*inputs: Path, seconds_per_mb: float) -> float:
    """Generous: ten times what the reference takes here per MB, and two minutes to start."""
    return 120 + seconds_per_mb * sum(path.stat().st_size for path in inputs) / 1e6


def run_bpe_encoder(
    text: Path, output: Path, bpe_dir: Path, *, workers: int = 2, fairseq_python: str | None = None
) -> None:
    """Step 1 alone: fairseq's GPT-2 encoder over each line, ids written space-separated."""
    run_reference(
        [fairseq_python or default_fairseq_python(), "-m",
         "fairseq.examples.roberta.multiprocessing_bpe_encoder",
         "--encoder-json", str(bpe_dir / "encoder.json"), "--vocab-bpe", str(bpe_dir / "vocab.bpe"),
         "--inputs", str(text), "--outputs", str(output), "--keep-empty", "--workers", str(workers)],
        timeout_s=_time_limit(text, seconds_per_mb=3.0),
    )


def run_recipe(
    train_texts: list[Path],
    valid_texts: list[Path],
    bpe_dir: Path,
    destdir: Path,
    workdir: Path,
    *,
    workers: int = 2,
    fairseq_python: str | None = None,
) -> dict[str, float]:
    """Encode and binarize; return the seconds each stage took."""
    python = fairseq_python or default_fairseq_python()
    workdir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    bpe_files: dict[str, Path] = {}
    for split, texts in (("train", train_texts), ("valid", valid_texts)):
        joined = workdir / f"{split}.txt"
        with open(joined, "wb") as out:
            for text in texts:
                out.write(Path(text).read_bytes())
        bpe_files[split] = workdir / f"{split}.bpe"
    started = time.perf_counter()
    for split in ("train", "valid"):
        run_bpe_encoder(workdir / f"{split}.txt", bpe_files[split], bpe_dir, workers=workers, fairseq_python=python)
    timings["encode_s"] = time.perf_counter() - started
    started = time.perf_counter()
    preprocess = str(Path(python).parent / "fairseq-preprocess")
    run_reference(
        [preprocess, "--only-source", "--srcdict", str(bpe_dir / "dict.txt"),
         "--trainpref", str(bpe_files["train"]), "--validpref", str(bpe_files["valid"]),
         "--destdir", str(destdir), "--dataset-impl", "mmap", "--workers", str(workers)],
        timeout_s=_time_limit(*bpe_files.values(), seconds_per_mb=10.0),
    )
    timings["preprocess_s"] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", nargs="+", type=Path, required=True)
    parser.add_argument("--valid", nargs="+", type=Path, required=True)
    parser.add_argument("--bpe-dir", type=Path, required=True)
    parser.add_argument("--destdir", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(run_recipe(args.train, args.valid, args.bpe_dir, args.destdir, args.workdir, workers=args.workers))


if __name__ == "__main__":
    sys.exit(main())
