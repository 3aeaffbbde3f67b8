"""GLUE's check: fairseq's own `sentence_prediction` task loads what was written (in .venv-fairseq, via Pipes)."""

import dagster as dg

from mm_assets.datasets.glue.hub_files import read_split
from mm_assets.datasets.glue.tasks import TASKS, labelled
from mm_assets.defs.shared.judge_pipes import run_judge
from mm_assets.defs.shared.metadata import check_result
from mm_assets.defs.shared.resources import FairseqJudgeResource, StorageResource
from mm_assets.formats.fairseq_mmap import problems_under
from mm_assets.judge import JUDGE_DIR

JUDGE_SCRIPT = JUDGE_DIR / "check_glue_task.py"
SAMPLED_ROWS = 8


def _sample_rows(count: int) -> list[int]:
    if count == 0:
        return []
    step = max(1, count // (SAMPLED_ROWS - 1))
    return sorted({*range(0, count, step), count - 1})[:SAMPLED_ROWS]


@dg.asset_check(
    asset="glue_fairseq_data",
    name="fairseq_loads_glue_task",
    description="fairseq's sentence_prediction task (init token 0, separator 2, as the recipe's "
    "fine-tuning configs) loads every split in .venv-fairseq, through Dagster Pipes: examples as "
    "reported, <s> ... </s> items, targets in range, sampled items decode back to the hub's text.",
)
def fairseq_loads_glue_task(
    context: dg.AssetCheckExecutionContext,
    storage: StorageResource,
    judge: FairseqJudgeResource,
    pipes_subprocess_client: dg.PipesSubprocessClient,
) -> dg.AssetCheckResult:
    if not context.has_partition_key:
        return check_result(["run per partition (task)"])
    task = TASKS[context.partition_key]
    layout = storage.layout
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("glue_fairseq_data"), asset_partitions=[task.key]),
        limit=1).records
    if not records:
        return check_result([f"glue_fairseq_data was never materialized for {task.key}"])
    metadata = records[0].asset_materialization.metadata
    damaged = problems_under(layout.glue.bin_dir(task))  # sizes first: fairseq would read past a cut .bin
    if damaged:
        return check_result([*(f"- {problem}" for problem in damaged), "",
                             f"materialize glue_fairseq_data for partition {task.key} again"])
    splits = {}
    for hub_split in task.hub_splits:
        split = task.fairseq_split(hub_split)
        rows = read_split(task, layout.glue.raw_file(task, hub_split))
        samples = {str(r): [column[r] for column in rows.texts] for r in _sample_rows(len(rows))}
        splits[split] = {"examples": metadata[f"{split}_examples"].value, "labelled": labelled(split),
                         "samples": samples}
    extras = {
        "partition": task.key,
        "data_dir": str(layout.glue.bin_dir(task)), "bpe_dir": str(layout.gpt2_bpe_dir),
        "num_classes": 1 if task.is_regression else len(task.label_names),
        "regression": task.is_regression, "inputs": len(task.inputs), "splits": splits,
    }
    return run_judge(context, JUDGE_SCRIPT, extras, judge=judge, pipes=pipes_subprocess_client)
