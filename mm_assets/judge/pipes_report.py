"""How every judge script reports its asset check to Dagster through Pipes, written once.

A script runs by path in `.venv-fairseq`, where this package is not installed: it imports this
module as its sibling (`from pipes_report import judge_through_pipes`, inside its entry point, so
that importing the script as part of the package needs nothing outside it). The Dagster side that
launches the scripts and reads the report: `mm_assets.defs.shared.judge_pipes`.
"""

from __future__ import annotations

from typing import Callable

SHOWN_PROBLEMS = 20  # the rest are counted, not listed: a broken table can give thousands

Judge = Callable[[dict, Callable[[str], None]], list[str]]


def problems_markdown(problems: list[str]) -> str:
    """The problems as a Markdown list (the first `SHOWN_PROBLEMS`, then how many more), or "none"."""
    shown = [f"- {problem}" for problem in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        shown.append(f"- ... and {len(problems) - SHOWN_PROBLEMS:,} more")
    return "\n".join(shown) or "none"


def judge_through_pipes(judge: Judge, *, could_not: str, then: str = "",
                        counts: Callable[[dict], dict[str, int]] = lambda extras: {}) -> None:
    """Run `judge(extras, log)` in a Pipes session and report the check named in the extras
    (`check_name`, `asset_key`): passed when it finds no problem.

    Whatever fairseq raises is a problem reported, not a crash: "fairseq <could_not>: <error>",
    then `then` (what to do; formatted with the extras). `counts(extras)` adds integer metadata
    beside `problems` and `problem_count`.
    """
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        extras = pipes.extras
        try:
            problems = judge(extras, pipes.log.info)
        except Exception as exc:  # whatever fairseq trips on is the check's finding, not a crash
            problems = [f"fairseq {could_not}: {type(exc).__name__}: {exc}"
                        + (f"; {then.format(**extras)}" if then else "")]
        metadata = {"problems": {"raw_value": problems_markdown(problems), "type": "md"},
                    "problem_count": {"raw_value": len(problems), "type": "int"}}
        metadata.update({key: {"raw_value": value, "type": "int"} for key, value in counts(extras).items()})
        pipes.report_asset_check(check_name=extras["check_name"], passed=not problems,
                                 asset_key=extras["asset_key"], metadata=metadata)
