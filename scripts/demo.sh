#!/usr/bin/env bash
# Materialize every asset on the bundled sample, with no network, exactly as CI drives the
# pipeline: gpt2_bpe, then the OWT chain per slice, then the merged fairseq data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
SAMPLE=${SAMPLE:-sample/owt}
export MM_DATA_ROOT=${MM_DATA_ROOT:-$PWD/data/demo}
export MM_OWT_URL=${MM_OWT_URL:-$PWD/$SAMPLE}
export MM_OWT_TRAIN_SLICES=${MM_OWT_TRAIN_SLICES:-0-4}
export MM_OWT_VALID_SLICES=${MM_OWT_VALID_SLICES:-5}
export DAGSTER_HOME=${DAGSTER_HOME:-$PWD/demo_home}
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || : > "$DAGSTER_HOME/dagster.yaml"
dagster="$VENV/bin/dagster"
run() {
  echo "+ dagster asset materialize $*"
  "$dagster" asset materialize -m mm_assets.definitions "$@" > "$DAGSTER_HOME/last_run.log" 2>&1 \
    || { tail -n 60 "$DAGSTER_HOME/last_run.log"; exit 1; }
}
run --select gpt2_bpe
slices=$("$VENV/bin/python" -c "
from mm_assets.datasets.owt.slices import parse_slice_spec as p, partition_key
import os
print(' '.join(partition_key(n) for n in sorted(set(p(os.environ['MM_OWT_TRAIN_SLICES']) + p(os.environ['MM_OWT_VALID_SLICES'])))))")
for slice in $slices; do
  run --select owt_raw_slice,owt_clean_slice,owt_binarized_slice --partition "$slice"
done
run --select owt_fairseq_data
"$VENV/bin/python" - <<'PY'
import os
from dagster import AssetKey, DagsterInstance
instance = DagsterInstance.get()
event = instance.get_latest_materialization_event(AssetKey("owt_fairseq_data"))
meta = event.asset_materialization.metadata
print(f"\nfairseq data directory: {meta['path'].value}")
for split in ("train", "valid"):
    print(f"  {split}: slices {meta[split + '_slices'].value}, "
          f"{meta[split + '_sequences'].value:,} sequences, {meta[split + '_tokens'].value:,} tokens")
check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
    [__import__("dagster").AssetCheckKey(AssetKey("owt_fairseq_data"), "fairseq_reads_data_dir")])
for key, execution in check.items():
    print(f"  check {key.name}: {execution.status.value}")
print(f"Browse the runs: DAGSTER_HOME={os.environ['DAGSTER_HOME']} {os.environ.get('VENV', '.venv')}/bin/dagster dev -m mm_assets.definitions")
PY

# --- ImageNet and GLUE (issue 8): hub-layout mirrors made by scripts/make_imagenet_glue_sample.py ---
IMAGENET_SAMPLE=${IMAGENET_SAMPLE:-sample/imagenet}
GLUE_SAMPLE=${GLUE_SAMPLE:-sample/glue}
if [ ! -d "$IMAGENET_SAMPLE/data" ] || [ ! -d "$GLUE_SAMPLE/wnli" ]; then
  "$VENV/bin/python" scripts/make_imagenet_glue_sample.py --imagenet-out "$IMAGENET_SAMPLE" --glue-out "$GLUE_SAMPLE"
fi
export MM_IMAGENET_URL=${MM_IMAGENET_URL:-$PWD/$IMAGENET_SAMPLE}
export MM_GLUE_URL=${MM_GLUE_URL:-$PWD/$GLUE_SAMPLE}
run --select imagenet_shard_list
shards=$("$VENV/bin/python" -c "
from dagster import DagsterInstance
print(' '.join(DagsterInstance.get().get_dynamic_partitions('imagenet_shards')))")
for shard in $shards; do
  run --select imagenet_raw --partition "$shard"
done
run --select imagenet_index
for task in $("$VENV/bin/python" -c "from mm_assets.datasets.glue.tasks import PARTITION_KEYS; print(' '.join(PARTITION_KEYS))"); do
  run --select glue_raw,glue_fairseq_data --partition "$task"
done
"$VENV/bin/python" - <<'PY'
import dagster as dg
instance = dg.DagsterInstance.get()
meta = instance.get_latest_materialization_event(dg.AssetKey("imagenet_index")).asset_materialization.metadata
print(f"\nImageNet index: {meta['path'].value}: train {meta['train_images'].value} images, "
      f"val {meta['val_images'].value}, {meta['classes_found'].value} classes, "
      f"{meta['unreadable_images'].value} unreadable left out (listed in {meta['dropped_list'].value})")
def check_line(asset, name, partition=None):
    key = dg.AssetCheckKey(dg.AssetKey(asset), name)
    execution = instance.event_log_storage.get_latest_asset_check_execution_by_key([key]).get(key)
    if execution is None:
        return f"{name}: not run"
    evaluation = execution.event.dagster_event.event_specific_data if execution.event else None
    warn = evaluation is not None and evaluation.severity == dg.AssetCheckSeverity.WARN and not evaluation.passed
    return f"{name}: {execution.status.value}" + (" (a warning: the sample is not the full ImageNet)" if warn else "")
for name in ("labels_agree_with_synsets", "every_row_accounted_for", "folders_match_index", "official_split_sizes"):
    print("  check " + check_line("imagenet_index", name))
for task in ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("glue_fairseq_data"), asset_partitions=[task]), limit=1).records
    task_meta = records[0].asset_materialization.metadata
    print(f"GLUE {task}: {task_meta['path'].value} ({task_meta['dagster/row_count'].value} examples)")
print("  check " + check_line("glue_fairseq_data", "fairseq_loads_glue_task") + " (the last task's)")
PY
