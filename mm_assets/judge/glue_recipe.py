"""fairseq's RoBERTa GLUE recipe, run for real as the reference: `examples/roberta/preprocess_GLUE_tasks.sh`.

The script is the one shipped inside the installed fairseq package, run by bash with the fairseq
environment's `python` and `fairseq-preprocess` first on PATH. Three things around it, none of
which changes a byte it writes:

- it starts with `wget -N` of `encoder.json`, `vocab.bpe` and `dict.txt` into the current folder:
  the verified files are copied there first, and a `wget` on PATH that only checks they are there
  stands in for the network;
- it runs `python -m examples.roberta.multiprocessing_bpe_encoder`, which needs an importable
  `examples` package in the current folder: a link to the package's own `fairseq/examples`;
- it passes `--workers 60` to the encoder and to `fairseq-preprocess`: replaced by `--workers N`
  (fairseq merges worker results in input order; the label dictionary is sorted when finalized).

WNLI, which the script does not know, is run under the name RTE (its TSVs have RTE's columns:
index, sentence1, sentence2, label), and its `RTE-bin` is renamed `WNLI-bin`. Each task runs in a
folder of its own, so tasks can run side by side (`parallel`). Runs from any Python: every step
is a subprocess of the fairseq environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mm_assets.judge.recipe import ReferenceHung, default_fairseq_python, run_reference

RECIPE_TASKS = ("CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE")
RUN_AS = {"WNLI": "RTE"}  # tasks the script does not know -> the task whose scheme they share
BPE_FILES = ("encoder.json", "vocab.bpe", "dict.txt")
WORKERS_IN_SCRIPT = "--workers 60"
TASK_TIME_LIMIT_S = 900  # a task of the test mirrors takes seconds; a hung Pool never ends (recipe.run_reference)
TASK_ATTEMPTS = 3
WGET_STAND_IN = """#!/bin/sh
# Stands in for `wget -N <url>`: the recipe's BPE files were put in the current folder beforehand.
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *) f=$(basename "$arg"); [ -f "$f" ] || { echo "wget stand-in: $f missing" >&2; exit 1; } ;;
  esac
done
"""


def _fairseq_python(fairseq_python: str | None) -> Path:

    return Path(fairseq_python or default_fairseq_python())


def installed_script(python: Path) -> Path:
    """The recipe script inside the fairseq package of `python`'s environment."""
    found = subprocess.run(
        [str(python), "-c", "import fairseq, os; print(os.path.dirname(fairseq.__file__))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    script = Path(found) / "examples" / "roberta" / "preprocess_GLUE_tasks.sh"
    if not script.is_file():
        raise FileNotFoundError(f"{script}: the installed fairseq ships no GLUE recipe")
    return script


def prepare_workdir(workdir: Path, bpe_dir: Path, python: Path, workers: int) -> Path:
    """The recipe's current folder: BPE files, `examples` link, `wget` stand-in, the script."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in BPE_FILES:
        shutil.copyfile(bpe_dir / name, workdir / name)
    source = installed_script(python)
    examples = workdir / "examples"
    if not examples.exists():
        examples.symlink_to(source.parents[1], target_is_directory=True)
    shims = workdir / "shims"
    shims.mkdir(exist_ok=True)
    (shims / "wget").write_text(WGET_STAND_IN)
    (shims / "wget").chmod(0o755)
    text = source.read_text()
    found = text.count(WORKERS_IN_SCRIPT)
    if found != 3:
        raise RuntimeError(f"{source}: expected '{WORKERS_IN_SCRIPT}' 3 times, found {found}: the recipe changed")
    script = workdir / "preprocess_GLUE_tasks.sh"
    script.write_text(text.replace(WORKERS_IN_SCRIPT, f"--workers {workers}"))
    return script


def run_glue_recipe(
    glue_data: Path,
    tasks: list[str],
    bpe_dir: Path,
    out_dir: Path,
    workdir: Path,
    *,
    workers: int = 2,
    parallel: int = 1,
    fairseq_python: str | None = None,
) -> dict[str, Path]:
    """Run the recipe on `glue_data/<TASK>/{train,dev,test}.tsv` for each task; return TASK -> TASK-bin.

    `glue_data` is copied (the script writes `processed/` inside each task folder).
    """
    python = _fairseq_python(fairseq_python)
    for task in tasks:
        if RUN_AS.get(task, task) not in RECIPE_TASKS:
            raise ValueError(f"{task}: not a task of the GLUE recipe ({', '.join(RECIPE_TASKS)}, or WNLI)")
    out_dir.mkdir(parents=True, exist_ok=True)

    def run(task: str) -> Path:
        for _ in range(TASK_ATTEMPTS - 1):  # a run whose Pool hung starts afresh, in a fresh workdir
            try:
                return _run_task(task, glue_data, bpe_dir, out_dir, workdir / task, python, workers)
            except ReferenceHung:
                pass
        return _run_task(task, glue_data, bpe_dir, out_dir, workdir / task, python, workers)

    with ThreadPoolExecutor(max(1, parallel)) as pool:
        return dict(zip(tasks, pool.map(run, tasks)))


def _run_task(task: str, glue_data: Path, bpe_dir: Path, out_dir: Path, cwd: Path, python: Path,
              workers: int) -> Path:
    name = RUN_AS.get(task, task)
    shutil.rmtree(cwd, ignore_errors=True)
    script = prepare_workdir(cwd, bpe_dir, python, workers)
    env = {**os.environ, "PATH": os.pathsep.join([str(python.parent), str(cwd / "shims"), os.environ.get("PATH", "")])}
    env.pop("PYTHONPATH", None)
    data = cwd / "glue_data"
    shutil.copytree(glue_data / task, data / name)
    try:
        run_reference(["bash", str(script), str(data), name], timeout_s=TASK_TIME_LIMIT_S, attempts=1,
                      cwd=cwd, env=env, text=True)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"the GLUE recipe failed on {task}:\n{exc.stderr[-3000:]}") from exc
    target = out_dir / f"{task}-bin"
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(cwd / f"{name}-bin"), target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--glue-data", type=Path, required=True, help="folder with <TASK>/{train,dev,test}.tsv")
    parser.add_argument("--tasks", nargs="+", required=True, help="CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI")
    parser.add_argument("--bpe-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2, help="replaces the script's --workers 60")
    parser.add_argument("--parallel", type=int, default=1, help="tasks run side by side")
    args = parser.parse_args()
    for task, path in run_glue_recipe(args.glue_data, args.tasks, args.bpe_dir, args.out, args.workdir,
                                      workers=args.workers, parallel=args.parallel).items():
        print(f"{task}: {path}")


if __name__ == "__main__":
    sys.exit(main())
