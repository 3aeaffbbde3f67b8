"""OWT checks. The data directory is judged by fairseq itself, in its own environment, via Pipes."""

import dagster as dg

from mm_assets.defs.shared.judge_pipes import run_judge
from mm_assets.defs.shared.resources import FairseqJudgeResource, StorageResource
from mm_assets.formats.fairseq_mmap import MMapFormatError, check_dataset, read_sizes
from mm_assets.judge import JUDGE_DIR

JUDGE_SCRIPT = JUDGE_DIR / "check_data_dir.py"
SAMPLED_SEQUENCES = 64


@dg.asset_check(
    asset="owt_fairseq_data",
    name="fairseq_reads_data_dir",
    description="fairseq's own MMapIndexedDataset and Dictionary load the directory (in "
    ".venv-fairseq, through Dagster Pipes); counts equal the materialization metadata; sampled "
    "sequences decode back to the cleaned text.",
)
def fairseq_reads_owt_data_dir(
    context: dg.AssetCheckExecutionContext,
    storage: StorageResource,
    fairseq_judge: FairseqJudgeResource,
    pipes_subprocess_client: dg.PipesSubprocessClient,
) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(dg.AssetKey("owt_fairseq_data"))
    if event is None or event.asset_materialization is None:
        return dg.AssetCheckResult(passed=False, metadata={"problems": "owt_fairseq_data was never materialized"})
    metadata = event.asset_materialization.metadata
    paths = storage.layout.owt
    splits = {}
    for split in ("train", "valid"):
        numbers = [int(n) for n in metadata[f"{split}_slices"].value.split(",") if n]
        splits[split] = {
            "expected": {"sequences": metadata[f"{split}_sequences"].value,
                         "tokens": metadata[f"{split}_tokens"].value},
            "texts": [str(paths.clean_slice(n)) for n in numbers],
        }
    extras = {
        "data_dir": str(paths.fairseq_dir),
        "bpe_dir": str(storage.layout.gpt2_bpe_dir),
        "dict_symbols": metadata["dict_symbols"].value,
        "samples": SAMPLED_SEQUENCES,
        "splits": splits,
    }
    return run_judge(context, JUDGE_SCRIPT, extras, judge=fairseq_judge, pipes=pipes_subprocess_client)


@dg.asset_check(
    asset="owt_binarized_slice",
    name="one_sequence_per_clean_line",
    description="The slice's index holds one sequence per line of its cleaned text, none empty.",
)
def one_sequence_per_clean_line(
    context: dg.AssetCheckExecutionContext, storage: StorageResource
) -> dg.AssetCheckResult:
    number = int(context.partition_key) if context.has_partition_key else None
    if number is None:
        return dg.AssetCheckResult(passed=False, metadata={"problems": "run per partition"})
    paths = storage.layout.owt
    redo = f"materialize owt_binarized_slice for partition {number:02d} again"
    try:
        summary = check_dataset(paths.binarized_prefix(number))
    except (MMapFormatError, OSError) as exc:
        return dg.AssetCheckResult(passed=False, metadata={"problems": f"{exc}; {redo}"})
    if not paths.clean_slice(number).is_file():
        return dg.AssetCheckResult(passed=False, metadata={
            "problems": f"{paths.clean_slice(number)} is missing; materialize owt_clean_slice for partition {number:02d}"})
    sizes = read_sizes(paths.binarized_prefix(number).with_suffix(".idx"))
    with open(paths.clean_slice(number), "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))
    shortest = int(sizes.min()) if len(sizes) else 0
    problems = []
    if summary.count != lines:
        problems.append(f"{summary.count:,} sequences for {lines:,} cleaned lines; {redo}")
    if summary.count and shortest < 2:
        problems.append(f"a sequence of {shortest} tokens (every line has at least one token and </s>); {redo}")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"sequences": summary.count, "tokens": summary.tokens, "clean_lines": lines,
                  "shortest_sequence": shortest, "problems": "\n".join(problems) or "none"},
    )
