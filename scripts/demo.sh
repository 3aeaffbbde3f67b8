#!/usr/bin/env bash
# Materialize every asset on the bundled samples, with no network, exactly as CI drives the
# pipeline: gpt2_bpe and the OWT chain per slice; CC3M (index, shards, subset) from a loopback
# server; COCO and VG, then the pair manifest (which takes in the CC3M subset).
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
[ -f "$DAGSTER_HOME/dagster.yaml" ] || printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"
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

# ---- CC3M: the index, availability and image cache per shard, then the subset --------------------
# A loopback server over the generated sample answers the index's URLs as real hosts do (failures
# included); the pipeline reaches it through the same HTTP code path as the real index.
CC3M_SAMPLE=${CC3M_SAMPLE:-sample/cc3m}
[ -f "$CC3M_SAMPLE/paths.tsv" ] || "$VENV/bin/python" scripts/make_cc3m_sample.py --out "$CC3M_SAMPLE"
cc3m_serve="$DAGSTER_HOME/cc3m_server"
mkdir -p "$cc3m_serve" && rm -f "$cc3m_serve/ready"
"$VENV/bin/python" scripts/serve_cc3m_sample.py --sample "$CC3M_SAMPLE" --index-out "$cc3m_serve/GCC-training.tsv" \
  --ready-file "$cc3m_serve/ready" --slow-s 10 > "$cc3m_serve/server.log" 2>&1 &
cc3m_server_pid=$!
trap 'kill "$cc3m_server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$cc3m_serve/ready" ] && break; sleep 0.1; done
[ -s "$cc3m_serve/ready" ] || { cat "$cc3m_serve/server.log"; echo "the CC3M sample server did not start"; exit 1; }
export MM_HTTP_ALLOW_PRIVATE=1 MM_CC3M_INDEX_URL="$cc3m_serve/GCC-training.tsv"
export MM_CC3M_SHARD_SIZE=${MM_CC3M_SHARD_SIZE:-40} MM_CC3M_SUBSET_SIZE=${MM_CC3M_SUBSET_SIZE:-50}
export MM_HTTP_TIMEOUT_S=${MM_HTTP_TIMEOUT_S:-3}
run --select cc3m_index
cc3m_shards=$("$VENV/bin/python" -c "
from dagster import DagsterInstance
print(' '.join(sorted(DagsterInstance.get().get_dynamic_partitions('cc3m_shards'))))")
for shard in $cc3m_shards; do
  run --select cc3m_availability,cc3m_image_cache --partition "$shard"
done
run --select cc3m_subset
"$VENV/bin/python" - <<'PY'
from dagster import AssetKey, DagsterInstance
instance = DagsterInstance.get()
def latest(key, partition=None):
    records = instance.fetch_materializations(
        __import__("dagster").AssetRecordsFilter(asset_key=AssetKey(key), asset_partitions=[partition] if partition else None),
        limit=1).records
    return records[0].asset_materialization.metadata
print("\nCC3M")
for shard in sorted(instance.get_dynamic_partitions("cc3m_shards")):
    checked, cached = latest("cc3m_availability", shard), latest("cc3m_image_cache", shard)
    print(f"  shard {shard}: {checked['ok'].value}/{checked['checked'].value} URLs answer with an image; "
          f"{cached['images'].value} images cached ({cached['image_bytes'].value:,} bytes)")
meta = latest("cc3m_subset")
print(f"  subset: {meta['pairs'].value} pairs, {meta['images'].value} distinct images, highest row id "
      f"{meta['highest_row_id'].value}, {meta['mean_caption_words'].value} words / "
      f"{meta['mean_caption_gpt2_tokens'].value} GPT-2 tokens per caption on average")
print(f"  {meta['path'].value}\n  {meta['ids_urls'].value}")
PY

# --- Image-text pairs: COCO and Visual Genome from the generated sample, then the pair manifest ---
# (the CC3M subset joins the manifest when cc3m_subset has been materialized; otherwise a warning)
COCO_VG_SAMPLE=${COCO_VG_SAMPLE:-sample/coco_vg}
export MM_COCO_URL=${MM_COCO_URL:-$PWD/$COCO_VG_SAMPLE/coco}
export MM_COCO_KARPATHY_URL=${MM_COCO_KARPATHY_URL:-$PWD/$COCO_VG_SAMPLE/karpathy/caption_datasets.zip}
export MM_VG_IMAGES_URL=${MM_VG_IMAGES_URL:-$PWD/$COCO_VG_SAMPLE/vg/images}
export MM_VG_REGIONS_URL=${MM_VG_REGIONS_URL:-$PWD/$COCO_VG_SAMPLE/vg/regions/region_descriptions.json.zip}
[ -f "$MM_COCO_KARPATHY_URL" ] || "$VENV/bin/python" scripts/make_coco_vg_sample.py --out "$COCO_VG_SAMPLE" > /dev/null
run --select "coco_train2014_zip,coco_val2014_zip,coco_annotations_zip,coco_karpathy_zip,coco_images,vg_images_zip,vg_images2_zip,vg_regions_zip,vg_images"
# COCO's other split first (the 2014 train captions alone), printed, then the default split
# (Karpathy's train + restval), which the manifest takes in.
MM_COCO_SPLIT=train2014 run --select coco_images,coco_pairs
"$VENV/bin/python" - <<'PY'
import dagster as dg
meta = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey("coco_pairs")).asset_materialization.metadata
print(f"\nCOCO split {meta['split'].value}: {meta['pairs'].value} pairs on {meta['images'].value} images "
      f"(on the real data: {meta['real_data_pairs_of_split'].value:,} on {meta['real_data_images_of_split'].value:,})")
PY
run --select coco_pairs,vg_pairs,vg_concat_pairs
run --select pair_manifest
run --select pair_examples  # the contact sheet of sampled pairs (docs/pictures.md)
"$VENV/bin/python" - <<'PY'
import dagster as dg
instance = dg.DagsterInstance.get()
meta = instance.get_latest_materialization_event(dg.AssetKey("pair_manifest")).asset_materialization.metadata
sheet = instance.get_latest_materialization_event(dg.AssetKey("pair_examples")).asset_materialization.metadata
print(f"\npair examples: {sheet['path'].value} ({sheet['png_bytes'].value:,} bytes; open 'sheet' in the asset's metadata)")
print(f"pair manifest: {meta['path'].value} ({meta['dagster/row_count'].value:,} pairs, VG {meta['vg_variant'].value}, "
      f"CC3M {'included' if meta['cc3m_included'].value else 'not materialized yet'})")
print("Table 1 of the sample, beside the seed's figures:")
print(meta["table_1"].value)
from mm_assets.definitions import defs
for asset in ("coco_pairs", "vg_pairs", "vg_concat_pairs", "pair_manifest"):
    keys = [k for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key == dg.AssetKey(asset)]
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    def shown(record):
        severity = record.evaluation.severity.value if record.evaluation and not record.evaluation.passed else ""
        return record.status.value + (f" ({severity})" if severity == "WARN" else "")
    print(f"  {asset} checks: " + ", ".join(f"{k.name} {shown(r)}" for k, r in sorted(records.items(), key=lambda x: x[0].name)))
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
for shard in $shards; do  # each shard downloaded, extracted, verified, then its parquet released
  run --select imagenet_raw,imagenet_images --partition "$shard"
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
shard_checks = instance.event_log_storage.get_asset_check_execution_history(
    dg.AssetCheckKey(dg.AssetKey("imagenet_images"), "images_match_recorded_hashes"), limit=1000)
passed = sum(1 for record in shard_checks if record.status.value == "SUCCEEDED")
print(f"  check images_match_recorded_hashes (per shard): {passed} of {len(shard_checks)} runs passed")
for task in ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("glue_fairseq_data"), asset_partitions=[task]), limit=1).records
    task_meta = records[0].asset_materialization.metadata
    print(f"GLUE {task}: {task_meta['path'].value} ({task_meta['dagster/row_count'].value} examples)")
print("  check " + check_line("glue_fairseq_data", "fairseq_loads_glue_task") + " (the last task's)")
PY
