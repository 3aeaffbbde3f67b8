"""Code that runs fairseq itself, in `.venv-fairseq` (fairseq and Dagster cannot share one
environment: DESIGN.md §7). Nothing here imports Dagster; the check script uses `dagster_pipes`,
which has no dependencies."""
