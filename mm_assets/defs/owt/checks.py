"""OWT checks. The data directory is judged by fairseq itself, in its own environment, via Pipes."""

import dagster as dg

from mm_assets.common.released import read_release
from mm_assets.datasets.owt.clean import count_lines_and_hash
from mm_assets.datasets.owt.data_dir import check_slice
from mm_assets.defs.shared.inputs import missing_input_check
from mm_assets.defs.shared.judge_pipes import run_judge
from mm_assets.defs.shared.metadata import check_result
from mm_assets.defs.shared.resources import FairseqJudgeResource, StorageResource
from mm_assets.formats.fairseq_mmap import MMapFormatError, read_sizes
from mm_assets.judge import JUDGE_DIR

JUDGE_SCRIPT = JUDGE_DIR / "check_data_dir.py"
SAMPLED_SEQUENCES = 64


@dg.asset_check(
    asset="owt_fairseq_data",
    name="fairseq_reads_data_dir",
    description="fairseq's own MMapIndexedDataset and Dictionary load the directory (in "
    ".venv-fairseq, through Dagster Pipes); counts equal the materialization metadata; sampled "
    "sequences decode back to the cleaned text (of the slices whose text is not released); each "
    "slice released into the merged split still has the sha256 it had when it was released.",
)
def fairseq_reads_owt_data_dir(
    context: dg.AssetCheckExecutionContext,
    storage: StorageResource,
    judge: FairseqJudgeResource,
    pipes_subprocess_client: dg.PipesSubprocessClient,
) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(dg.AssetKey("owt_fairseq_data"))
    if event is None or event.asset_materialization is None:
        return check_result(["owt_fairseq_data was never materialized"])
    metadata = event.asset_materialization.metadata
    paths = storage.layout.owt
    splits = {}
    damaged = []
    for split in ("train", "valid"):
        numbers = [int(n) for n in metadata[f"{split}_slices"].value.split(",") if n]
        for number in numbers:  # a released slice: its bytes in the merged split against its sha256
            try:
                check_slice(paths, number)
            except (MMapFormatError, OSError) as exc:
                damaged.append(str(exc))
        splits[split] = {
            "expected": {"sequences": metadata[f"{split}_sequences"].value,
                         "tokens": metadata[f"{split}_tokens"].value},
            "texts": [_judge_text(paths.clean_slice(n)) for n in numbers],
        }
    if damaged:
        return check_result(damaged)
    extras = {
        "data_dir": str(paths.fairseq_dir),
        "bpe_dir": str(storage.layout.gpt2_bpe_dir),
        "dict_symbols": metadata["dict_symbols"].value,
        "samples": SAMPLED_SEQUENCES,
        "splits": splits,
    }
    return run_judge(context, JUDGE_SCRIPT, extras, judge=judge, pipes=pipes_subprocess_client)


def _judge_text(text) -> str | dict:
    """The cleaned text for the judge, or, once released, the line count its record keeps (the
    judge then counts its lines without comparing decoded samples to them)."""
    record = read_release(text) if not text.is_file() else None
    return {"released_lines": int(record.facts["lines"])} if record is not None else str(text)


def _clean_lines(text) -> tuple[int, str]:
    """Lines of a cleaned text, counted, or kept by its release record; and which of the two."""
    if text.is_file():
        return count_lines_and_hash(text)[0], "counted in the cleaned text"
    record = read_release(text)
    if record is None:
        raise FileNotFoundError(text)
    return int(record.facts["lines"]), "recorded when the cleaned text was released"


@dg.asset_check(
    asset="owt_binarized_slice",
    name="one_sequence_per_clean_line",
    description="The slice's index holds one sequence per line of its cleaned text (counted, or as "
    "recorded when the text was released), none empty; a slice released into the merged split has "
    "its recorded sha256 there.",
)
def one_sequence_per_clean_line(
    context: dg.AssetCheckExecutionContext, storage: StorageResource
) -> dg.AssetCheckResult:
    number = int(context.partition_key) if context.has_partition_key else None
    if number is None:
        return check_result(["run per partition"])
    paths = storage.layout.owt
    redo = f"materialize owt_binarized_slice for partition {number:02d} again"
    try:
        summary = check_slice(paths, number)  # a slice released into the merged split: its bytes there
    except (MMapFormatError, OSError) as exc:
        return check_result([f"{exc}; {redo}"])
    try:
        lines, lines_from = _clean_lines(paths.clean_slice(number))
    except FileNotFoundError:
        return missing_input_check(paths.clean_slice(number), "owt_clean_slice", partition=f"{number:02d}")
    sizes = read_sizes(paths.binarized_prefix(number).with_suffix(".idx"))
    shortest = int(sizes.min()) if len(sizes) else 0
    problems = []
    if summary.count != lines:
        problems.append(f"{summary.count:,} sequences for {lines:,} cleaned lines; {redo}")
    if summary.count and shortest < 2:
        problems.append(f"a sequence of {shortest} tokens (every line has at least one token and </s>); {redo}")
    return check_result(problems, sequences=summary.count, tokens=summary.tokens, clean_lines=lines,
                        clean_lines_from=lines_from, shortest_sequence=shortest)
