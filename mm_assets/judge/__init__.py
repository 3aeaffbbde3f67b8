"""Code that runs fairseq itself, in `.venv-fairseq` (fairseq and Dagster cannot share one
environment: docs/environments.md). Nothing here imports Dagster; the check scripts use
`dagster_pipes`, which has no dependencies, and report through their sibling `pipes_report`. Scripts
here are run by path, never imported there.
"""

from pathlib import Path

JUDGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = JUDGE_DIR.parents[1]
# The interpreter of the fairseq environment the Makefile builds (the MM_FAIRSEQ_PYTHON default).
DEFAULT_FAIRSEQ_PYTHON = str(REPO_ROOT / ".venv-fairseq" / "bin" / "python")
