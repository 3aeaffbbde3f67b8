"""GLUE: the hub's parquet files of a task -> its fairseq data, as the RoBERTa GLUE recipe writes it."""

import dagster as dg

from mm_assets.datasets.glue.fairseq_data import GlueTextError, remove_stale_staging, write_task_dir
from mm_assets.datasets.glue.hub_files import GlueFileError, glue_verifier
from mm_assets.datasets.glue.labels import GlueLabelError
from mm_assets.datasets.glue.tasks import TASKS, labelled
from mm_assets.defs.shared.inputs import gpt2_bpe_files, missing_input
from mm_assets.defs.shared.metadata import records_table
from mm_assets.defs.shared.raw_files import fetch_or_reuse, verified_markdown
from mm_assets.defs.shared.resources import ComputeResource, HttpResource, StorageResource
from mm_assets.defs.shared.retry import retry_only_what_can_heal
from mm_assets.defs.shared.writing import sole_writer

from .partitions import glue_tasks
from .resources import GlueSource

RULES = "docs/data-rules.md"


class GlueRawConfig(dg.Config):
    force_download: bool = False


@dg.asset(
    key="glue_raw",
    group_name="glue",
    partitions_def=glue_tasks,
    kinds={"parquet"},
    pool="glue_download",
    description="Every split of one GLUE task from MM_GLUE_URL (the hub's nyu-mll/glue or a mirror): "
    "<task>/<split>-00000-of-00001.parquet, verified before it is kept (announced size, the hub's "
    f"sha256, a parquet check of the task's columns and label classes) ({RULES}, 'GLUE').",
)
@retry_only_what_can_heal
def glue_raw(
    context: dg.AssetExecutionContext, config: GlueRawConfig, storage: StorageResource, http: HttpResource,
    glue_source: GlueSource,
) -> dg.MaterializeResult:
    task = TASKS[context.partition_key]
    paths = storage.layout.glue
    metadata: dict = {"source": glue_source.url, "path": dg.MetadataValue.path(str(paths.root / "raw" / task.key))}
    checks = []
    for hub_split in task.hub_splits:
        raw = fetch_or_reuse(context, http, glue_source.url, task.hub_path(hub_split),
                             paths.raw_file(task, hub_split), verify=glue_verifier(task),
                             recorded_key=f"{hub_split}_sha256", force=config.force_download)
        metadata.update(raw.metadata(prefix=f"{hub_split}_"))
        checks += [f"{hub_split}: {check}" for check in raw.verified]
    metadata["verified"] = verified_markdown(tuple(checks))
    return dg.MaterializeResult(metadata=metadata)


def _score_bins(labels: dict[str, int]) -> dict[str, int]:
    """STS-B's scores (0-5) in unit bins: a table of every distinct score would run to a hundred rows."""
    bins: dict[str, int] = {}
    for score, count in labels.items():
        low = min(int(float(score)), 4)
        key = f"{low}-{low + 1}"
        bins[key] = bins.get(key, 0) + count
    return dict(sorted(bins.items()))


def _balance_table(splits: dict, regression: bool) -> dg.TableMetadataValue:
    rows = []
    for split, entry in splits.items():
        labels = entry.get("labels")
        if not labels:
            continue
        if regression:
            labels = _score_bins(labels)
        total = sum(labels.values())
        for label, count in labels.items():
            rows.append((split, str(label), int(count), round(100 * count / total, 1)))
    return records_table({"split": str, "label": str, "examples": int, "share_percent": float}, rows)


@dg.asset(
    key="glue_fairseq_data",
    group_name="glue",
    partitions_def=glue_tasks,
    deps=[glue_raw, "gpt2_bpe"],
    kinds={"fairseq"},
    description="glue/<TASK>-bin/ exactly as fairseq's RoBERTa recipe (preprocess_GLUE_tasks.sh) "
    "writes it from the same text: input0/ (and input1/) with dict.txt and train/valid/test "
    ".bin/.idx (GPT-2 BPE), label/ with its own dictionary (STS-B: scores / 5 in .label files), "
    f"MNLI's mismatched splits as valid1/test1, WNLI included ({RULES}, 'GLUE').",
)
def glue_fairseq_data(
    context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
) -> dg.MaterializeResult:
    task = TASKS[context.partition_key]
    layout = storage.layout
    raw = layout.glue.raw_files(task)
    if missing := [path for path in raw.values() if not path.is_file()]:
        raise missing_input(missing, "glue_raw", partition=task.key)
    bpe = gpt2_bpe_files(layout)
    out = layout.glue.bin_dir(task)
    try:
        with sole_writer(context, out):
            removed = remove_stale_staging(out)
            if removed:
                context.log.info(f"removed {removed} folder(s) a killed run left beside {out.name}")
            counts = write_task_dir(task, raw, bpe, out, workers=compute.worker_count, log=context.log.info)
    except (GlueTextError, GlueLabelError, GlueFileError) as exc:
        raise dg.Failure(f"{task.key}: {exc}", allow_retries=False) from exc
    splits = counts["splits"]
    metadata: dict = {"path": dg.MetadataValue.path(str(out)),
                      "dagster/row_count": sum(entry["examples"] for entry in splits.values())}
    for split, entry in splits.items():
        metadata[f"{split}_examples"] = entry["examples"]
        for name in task.inputs:
            metadata[f"{split}_{name}_tokens"] = entry[f"{name}_tokens"]
    metadata["unk_tokens"] = sum(entry["unk_tokens"] for entry in splits.values())
    metadata["label_balance"] = _balance_table(splits, task.is_regression)
    metadata["labelled_splits"] = ", ".join(s for s in splits if labelled(s))
    if "label_dict_symbols" in counts:
        metadata["label_dict_symbols"] = counts["label_dict_symbols"]
    return dg.MaterializeResult(metadata=metadata)
