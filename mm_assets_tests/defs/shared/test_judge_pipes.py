"""`run_judge` and the judge side's `judge_through_pipes`, end to end through Dagster Pipes in the
fairseq interpreter: a report becomes the check's result; a judge that raises, a script that dies
before reporting and a missing interpreter each become a failed check that says what happened."""

import dagster as dg

from mm_assets.defs.shared.judge_pipes import run_judge
from mm_assets.defs.shared.resources import FairseqJudgeResource
from mm_assets.judge import JUDGE_DIR

SCRIPT = f"""
import os, sys
sys.path.insert(0, {str(JUDGE_DIR)!r})  # as a judge script finds its sibling when run by path
from pipes_report import judge_through_pipes

def judge(extras, log):
    log("judging")
    if extras["mode"] == "raise":
        raise RuntimeError("boom")
    if extras["mode"] == "die":
        os._exit(3)
    return [f"problem {{i}}" for i in range(extras["problems"])]

judge_through_pipes(judge, could_not="could not read the thing", then="materialize {{thing}} again",
                    counts=lambda extras: {{"judged_things": 7}})
"""


def run_check(tmp_path, python: str, **extras):
    script = tmp_path / "judge_script.py"
    script.write_text(SCRIPT)

    @dg.asset
    def judged() -> None:
        return None

    @dg.asset_check(asset=judged, name="judged_by_fairseq")
    def judged_by_fairseq(context: dg.AssetCheckExecutionContext, judge: FairseqJudgeResource,
                          pipes_subprocess_client: dg.PipesSubprocessClient) -> dg.AssetCheckResult:
        return run_judge(context, script, {"thing": "the_thing", **extras}, judge=judge,
                         pipes=pipes_subprocess_client)

    result = dg.materialize([judged, judged_by_fairseq], resources={
        "judge": FairseqJudgeResource(python=python),
        "pipes_subprocess_client": dg.PipesSubprocessClient()})
    assert result.success  # whatever the judge did, the check ran to the end
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "judged_by_fairseq" and evaluation.asset_key == dg.AssetKey("judged")
    return evaluation


def test_a_clean_report_passes_with_its_counts(tmp_path, fairseq_python):
    check = run_check(tmp_path, fairseq_python, mode="ok", problems=0)
    assert check.passed is True
    metadata = {key: value.value for key, value in check.metadata.items()}
    assert metadata == {"problems": "none", "problem_count": 0, "judged_things": 7}


def test_problems_fail_the_check_listed_then_counted(tmp_path, fairseq_python):
    check = run_check(tmp_path, fairseq_python, mode="problems", problems=25)
    assert check.passed is False and check.metadata["problem_count"].value == 25
    lines = check.metadata["problems"].value.splitlines()
    assert lines[:2] == ["- problem 0", "- problem 1"] and lines[19] == "- problem 19"
    assert lines[20:] == ["- ... and 5 more"]


def test_a_judge_that_raises_is_a_finding_with_what_to_do(tmp_path, fairseq_python):
    check = run_check(tmp_path, fairseq_python, mode="raise", problems=0)
    assert check.passed is False
    assert check.metadata["problems"].value == (
        "- fairseq could not read the thing: RuntimeError: boom; materialize the_thing again")


def test_a_script_that_dies_before_reporting_is_a_failed_check(tmp_path, fairseq_python):
    check = run_check(tmp_path, fairseq_python, mode="die", problems=0)
    assert check.passed is False
    assert check.metadata["problems"].value.startswith("the fairseq judge failed to run: ")


def test_no_interpreter_is_a_failed_check_naming_the_setting(tmp_path):
    check = run_check(tmp_path, "/nonexistent/bin/python", mode="ok", problems=0)
    assert check.passed is False
    assert "MM_FAIRSEQ_PYTHON='/nonexistent/bin/python': no such interpreter" in check.metadata["problems"].value
