"""The fairseq recipe the researchers used before, run for real as the reference.

1. `examples/roberta/multiprocessing_bpe_encoder.py` (shipped inside the fairseq package) encodes
   each cleaned text file line by line with fairseq's GPT-2 encoder;
2. `fairseq-preprocess --only-source --srcdict dict.txt --dataset-impl mmap` binarizes the result.

Runs from any Python: both steps are subprocesses of the fairseq interpreter.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from mm_assets.judge import DEFAULT_FAIRSEQ_PYTHON


def default_fairseq_python() -> str:
    """MM_FAIRSEQ_PYTHON, else the interpreter of the environment the Makefile builds."""
    return os.environ.get("MM_FAIRSEQ_PYTHON") or DEFAULT_FAIRSEQ_PYTHON


def run_bpe_encoder(
    text: Path, output: Path, bpe_dir: Path, *, workers: int = 2, fairseq_python: str | None = None
) -> None:
    """Step 1 alone: fairseq's GPT-2 encoder over each line, ids written space-separated."""
    subprocess.run(
        [fairseq_python or default_fairseq_python(), "-m",
         "fairseq.examples.roberta.multiprocessing_bpe_encoder",
         "--encoder-json", str(bpe_dir / "encoder.json"), "--vocab-bpe", str(bpe_dir / "vocab.bpe"),
         "--inputs", str(text), "--outputs", str(output), "--keep-empty", "--workers", str(workers)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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
    subprocess.run(
        [preprocess, "--only-source", "--srcdict", str(bpe_dir / "dict.txt"),
         "--trainpref", str(bpe_files["train"]), "--validpref", str(bpe_files["valid"]),
         "--destdir", str(destdir), "--dataset-impl", "mmap", "--workers", str(workers)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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
