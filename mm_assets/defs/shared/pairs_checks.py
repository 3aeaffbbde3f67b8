"""The checks every pairs table gets (coco_pairs, vg_pairs, vg_concat_pairs, pair_manifest).

- `pairs_well_formed`: every row `<s>` first, `</s>` last, 3 to 64 tokens, `n_tokens` right, no
  special token inside, a non-empty stripped caption, a known source (docs/data-rules.md, "Pairs tables").
- `pair_counts_match_metadata`: the rows per source equal what the materialization reported.
- `pair_images_decode`: a sample of 1,000 distinct images (every image of a smaller table) exists
  and decodes fully (`inspect_image`; CC3M references are read from their shard).
- `fairseq_encodes_pairs`: a sample of rows (and those at the 64-token limit) is encoded again by
  fairseq's own GPT2BPE + Dictionary in `.venv-fairseq`, through Dagster Pipes: same ids.

A check reports what it finds as a failed check with the rows or files named; it never crashes.
"""

from pathlib import Path
from typing import Callable

import dagster as dg
import pyarrow.compute as pc

from mm_assets.datasets.pairs.table import iter_table_batches
from mm_assets.datasets.pairs.validate import check_images, check_pairs_table, sample_images, sample_rows
from mm_assets.judge import JUDGE_DIR
from mm_assets.layout import DataLayout

from .inputs import missing_input_check
from .judge_pipes import run_judge
from .metadata import check_result, tally_table
from .resources import ComputeResource, FairseqJudgeResource, StorageResource

JUDGE_SCRIPT = JUDGE_DIR / "check_pairs.py"
PAIRS_PER_SOURCE = "pairs_{source}"  # the metadata key of each source's row count


def _missing(path: Path, asset_key: str) -> dg.AssetCheckResult | None:
    return None if path.is_file() else missing_input_check(path, asset_key)


def pairs_table_checks(asset_key: str, table_of: Callable[[DataLayout], Path]) -> list[dg.AssetChecksDefinition]:
    """The four checks of the pairs table `table_of(layout)` written by `asset_key`."""

    @dg.asset_check(asset=asset_key, name="pairs_well_formed", blocking=True,
                    description="Every pair: <s> first, </s> last, 3 to 64 tokens, n_tokens right, no "
                    "special token inside, a non-empty stripped caption, a known source, an image.")
    def well_formed(storage: StorageResource) -> dg.AssetCheckResult:
        path = table_of(storage.layout)
        if (missing := _missing(path, asset_key)) is not None:
            return missing
        try:
            report = check_pairs_table(path)
        except Exception as exc:  # an unreadable table is a failed check, not a crash
            return check_result([f"{path} cannot be read: {type(exc).__name__}: {exc}; materialize {asset_key} again"])
        return dg.AssetCheckResult(passed=not report.problems.total(), metadata={
            "rows": report.rows, "bad_rows": report.problems.total(),
            "problems": tally_table(report.problems)})

    @dg.asset_check(asset=asset_key, name="pair_counts_match_metadata",
                    description="The table's rows per source equal the counts its materialization reported.")
    def counts_match(context: dg.AssetCheckExecutionContext, storage: StorageResource) -> dg.AssetCheckResult:
        path = table_of(storage.layout)
        if (missing := _missing(path, asset_key)) is not None:
            return missing
        event = context.instance.get_latest_materialization_event(dg.AssetKey(asset_key))
        if event is None or event.asset_materialization is None:
            return check_result([f"{asset_key} was never materialized"])
        reported = {key: entry.value for key, entry in event.asset_materialization.metadata.items()}
        found: dict[str, int] = {}
        for batch in iter_table_batches(path, columns=["source"]):
            for item in pc.value_counts(batch.column("source")).to_pylist():
                found[item["values"]] = found.get(item["values"], 0) + item["counts"]
        problems = []
        if sum(found.values()) != reported.get("dagster/row_count"):
            problems.append(f"{sum(found.values()):,} rows, metadata says {reported.get('dagster/row_count')}")
        sources = {key.removeprefix("pairs_") for key in reported if key.startswith("pairs_")} | set(found)
        for source in sorted(sources):
            said = reported.get(PAIRS_PER_SOURCE.format(source=source))
            if found.get(source, 0) != said:
                problems.append(f"{source}: {found.get(source, 0):,} rows, metadata says {said}")
        return check_result(problems, rows=sum(found.values()))

    @dg.asset_check(asset=asset_key, name="pair_images_decode",
                    description="A sample of 1,000 distinct images of the table (all of a smaller one) "
                    "exists under MM_DATA_ROOT and decodes fully.")
    def images_decode(storage: StorageResource, compute: ComputeResource) -> dg.AssetCheckResult:
        layout = storage.layout
        path = table_of(layout)
        if (missing := _missing(path, asset_key)) is not None:
            return missing
        images = sample_images(path)
        result = check_images(layout.root, images, workers=compute.worker_count)
        bad = result["missing"] + result["undecodable"]
        return dg.AssetCheckResult(passed=bad == 0 and result["checked"] > 0, metadata={
            "images_checked": result["checked"], "missing": result["missing"],
            "undecodable": result["undecodable"],
            "problems": tally_table(result) if bad else "none"})

    @dg.asset_check(asset=asset_key, name="fairseq_encodes_pairs",
                    description="A sample of pairs (and every one at the 64-token limit, up to 64) is "
                    "encoded again by fairseq's own GPT2BPE and Dictionary in .venv-fairseq, through "
                    "Dagster Pipes: the ids must be the same.")
    def fairseq_encodes(context: dg.AssetCheckExecutionContext, storage: StorageResource,
                        judge: FairseqJudgeResource,
                        pipes_subprocess_client: dg.PipesSubprocessClient) -> dg.AssetCheckResult:
        path = table_of(storage.layout)
        if (missing := _missing(path, asset_key)) is not None:
            return missing
        extras = {"bpe_dir": str(storage.layout.gpt2_bpe_dir), "rows": sample_rows(path)}
        return run_judge(context, JUDGE_SCRIPT, extras, judge=judge, pipes=pipes_subprocess_client)

    return [well_formed, counts_match, images_decode, fairseq_encodes]
