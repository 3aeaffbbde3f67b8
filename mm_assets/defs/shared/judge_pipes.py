"""An asset check that fairseq judges: one of the `mm_assets/judge/check_*.py` scripts run through
Dagster Pipes with the fairseq environment's interpreter, its report the check's result.

The script reports with `mm_assets/judge/pipes_report.py`; this is the launching side, written once.
"""

from pathlib import Path

import dagster as dg

from .metadata import check_result
from .resources import FairseqJudgeResource


def run_judge(context: dg.AssetCheckExecutionContext, script: Path, extras: dict, *,
              judge: FairseqJudgeResource, pipes: dg.PipesSubprocessClient) -> dg.AssetCheckResult:
    """Run `script` in the fairseq environment for the check being executed; its report, or a
    failed check when there is no interpreter or the script dies before it reports (never a crash).

    The check's name and asset go into the extras (`check_name`, `asset_key`) for the report.
    """
    try:
        python = judge.interpreter()
    except FileNotFoundError as exc:
        return check_result([str(exc)])
    spec = context.check_specs[0]
    extras = {"check_name": spec.name, "asset_key": spec.asset_key.to_user_string(), **extras}
    try:
        return pipes.run(command=[str(python), str(script)], context=context.op_execution_context,
                         extras=extras).get_asset_check_result()
    except Exception as exc:  # the judge died before it could report: a failed check, not a crash
        return check_result([f"the fairseq judge failed to run: {type(exc).__name__}: {exc}"])
