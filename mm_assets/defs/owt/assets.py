"""OpenWebText: raw slices -> cleaned text -> binarized slices -> one fairseq data directory."""

from pathlib import Path

import dagster as dg

from mm_assets.common.hashing import sha256_of
from mm_assets.common.released import covering_release, forget_release, is_present, release
from mm_assets.datasets.owt.archive import OwtArchiveError, verify_raw_slice
from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.datasets.owt.data_dir import DamagedSliceError, check_slice, missing_binarized_slices, write_data_dir
from mm_assets.datasets.owt.proof import prove_slice_against_text
from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.defs.shared.inputs import gpt2_bpe_files, missing_input
from mm_assets.defs.shared.metadata import tally_table
from mm_assets.defs.shared.raw_files import (
    DownloadConfig,
    fetch_or_reuse,
    recorded_metadata,
    release_raw_file,
)
from mm_assets.defs.shared.resources import ArchiveLimitsResource, ComputeResource, HttpResource, StorageResource
from mm_assets.defs.shared.retry import retry_only_what_can_heal
from mm_assets.defs.shared.writing import sole_writer
from mm_assets.formats.archive_limits import ArchiveLimitError
from mm_assets.formats.fairseq_mmap import MMapFormatError
from mm_assets.pictures.readers import owt_lengths_markdown
from mm_assets.text.binarize import binarize_text
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles

from .partitions import owt_slices
from .resources import OwtSource

RULES = "docs/data-rules.md"


def _kept_as_released(context: dg.AssetExecutionContext, source: Path, outputs: list[Path]) -> dg.MaterializeResult | None:
    """The result of a rerun whose input was released while its outputs (or what they were released
    into) are all present: nothing to redo, and the input cannot be read anyway."""
    if source.is_file() or covering_release(source) is None or not all(map(is_present, outputs)):
        return None
    context.log.info(f"{source} was released once its outputs were verified; they are present and kept")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(outputs[0])),
        "state": "kept: the input was released (MM_RAW_FILES=release) and the outputs are present",
        "dagster/row_count": recorded_metadata(context, "dagster/row_count") or 0,
    })


def _require_input(path: Path, number: int, upstream: str) -> Path:
    if not path.is_file():
        raise missing_input(path, upstream, partition=f"{number:02d}")
    return path


@dg.asset(
    key="owt_raw_slice",
    group_name="owt",
    partitions_def=owt_slices,
    kinds={"tar"},
    pool="owt_download",
    description="One `subsets/urlsf_subsetNN.tar` of Skylion007/openwebtext from MM_OWT_URL (the "
    "hub, with HF_TOKEN when set, or a local mirror), resumed with HTTP Range requests and renamed "
    "into place only once verified: the announced size, the hub's sha256, and the archive's "
    f"structure ({RULES}, 'OpenWebText archives'). A file kept from an earlier run is verified "
    "again before it is reused; one released once its cleaned text was written (MM_RAW_FILES=release, "
    "docs/footprint.md) is reported with its recorded sha256, not fetched again.",
)
@retry_only_what_can_heal
def owt_raw_slice(
    context: dg.AssetExecutionContext, config: DownloadConfig, storage: StorageResource,
    http: HttpResource, owt_source: OwtSource,
) -> dg.MaterializeResult:
    number = int(context.partition_key)
    raw = fetch_or_reuse(context, http, owt_source.url, slice_hub_path(number), storage.layout.owt.raw_slice(number),
                         verify=verify_raw_slice, force=config.force_download)
    return dg.MaterializeResult(metadata=raw.asset_metadata(owt_source.url))


@dg.asset(
    key="owt_clean_slice",
    group_name="owt",
    partitions_def=owt_slices,
    deps=[owt_raw_slice],
    kinds={"text"},
    description="The slice's documents cleaned by the OWT cleaning rule "
    f"({RULES}, 'OpenWebText cleaning'): both tar levels in archive order, `.txt` documents only, "
    "invalid UTF-8 and NULs dropped, lines split as text mode does, stripped, empty lines dropped. "
    "One line of text per future sequence.",
)
def owt_clean_slice(
    context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
    archive_limits: ArchiveLimitsResource,
) -> dg.MaterializeResult:
    number = int(context.partition_key)
    paths = storage.layout.owt
    output = paths.clean_slice(number)
    if (kept := _kept_as_released(context, paths.raw_slice(number), [output])) is not None:
        return kept
    raw = _require_input(paths.raw_slice(number), number, "owt_raw_slice")
    with sole_writer(context, output):
        try:
            counts = clean_slice(raw, output, workers=compute.worker_count, log=context.log.info,
                                 limits=archive_limits.limits)
        except ArchiveLimitError as exc:  # the same bytes are refused again: the slice is kept, no retry
            raise dg.Failure(f"slice {number:02d}: {exc}; nothing was written", allow_retries=False) from exc
        except OwtArchiveError as exc:
            raw.unlink(missing_ok=True)  # damaged inside a block: never read again as if whole
            raise dg.Failure(
                f"slice {number:02d}: the raw slice is damaged: {exc}. It was removed: materialize "
                f"owt_raw_slice for partition {number:02d} again to fetch it again, then owt_clean_slice.",
                allow_retries=False) from exc
        released = {}
        if storage.release_raw:
            if sha256_of(output) != counts["sha256"]:  # read back: what is on disk is what was written
                raise dg.Failure(f"slice {number:02d}: {output} differs from the text just written (a disk "
                                 "error?); the raw slice is kept: materialize owt_clean_slice again")
            released = release_raw_file(context, storage, raw, "owt_raw_slice", [output])
    skipped = counts.pop("skipped_members")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(output)),
        "dagster/row_count": counts["lines_kept"],
        **counts,
        "skipped_members": tally_table(skipped),
        **released,
    })


@dg.asset(
    key="owt_binarized_slice",
    group_name="owt",
    partitions_def=owt_slices,
    deps=[owt_clean_slice, "gpt2_bpe"],
    kinds={"fairseq"},
    description="One fairseq sequence per cleaned line (GPT-2 BPE, dict.txt indices, </s> "
    f"appended) as an mmap .bin/.idx pair, byte-identical to the fairseq recipe ({RULES}, "
    "'GPT-2 encoding').",
)
def owt_binarized_slice(
    context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
) -> dg.MaterializeResult:
    number = int(context.partition_key)
    layout = storage.layout
    prefix = layout.owt.binarized_prefix(number)
    bin_path, idx_path = prefix.with_suffix(".bin"), prefix.with_suffix(".idx")
    if (kept := _kept_as_released(context, layout.owt.clean_slice(number), [bin_path, idx_path])) is not None:
        _drop_if_damaged(layout.owt, number)
        return kept
    text = _require_input(layout.owt.clean_slice(number), number, "owt_clean_slice")
    files = gpt2_bpe_files(layout)
    with sole_writer(context, bin_path, bin_path, idx_path):
        counts = binarize_text(text, prefix, files.directory, workers=compute.worker_count,
                               log=context.log.info)
        released = _release_clean_text(context, storage, number, files) if storage.release_raw else {}
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(prefix) + ".{bin,idx}"),
        "dagster/row_count": counts["sequences"],
        **counts,
        **released,
    })


def _drop_if_damaged(paths, number: int) -> None:
    """A kept slice whose cleaned text was released must still check; a damaged one is removed, so
    that what was released for it counts as missing and is made again from a fresh download."""
    try:
        check_slice(paths, number)
    except MMapFormatError as exc:
        bin_path = paths.binarized_prefix(number).with_suffix(".bin")
        bin_path.unlink(missing_ok=True)
        forget_release(bin_path)
        raise dg.Failure(
            f"{exc}. The slice was removed. Its cleaned text and raw slice were released (MM_RAW_FILES=release), "
            f"so materialize owt_raw_slice, owt_clean_slice and owt_binarized_slice for partition {number:02d} "
            "again (the raw slice is fetched again), then owt_fairseq_data.", allow_retries=False) from exc


def _release_clean_text(context: dg.AssetExecutionContext, storage: StorageResource, number: int,
                        bpe: Gpt2BpeFiles) -> dict:
    """Prove the slice against its cleaned text (one sequence per line, sampled sequences decoded
    back to their lines), then release the text, keeping its line count and sha256 for the checks."""
    paths = storage.layout.owt
    text, prefix = paths.clean_slice(number), paths.binarized_prefix(number)
    proof = prove_slice_against_text(prefix, text, bpe)
    if proof.problems:
        raise dg.Failure(f"slice {number:02d} does not match its cleaned text: {'; '.join(proof.problems[:5])}. "
                         "The text is kept: materialize owt_binarized_slice again", allow_retries=False)
    lines, sha256 = proof.lines, proof.sha256
    size = text.stat().st_size
    release(text, size=size, sha256=sha256, outputs=[prefix.with_suffix(".bin"), prefix.with_suffix(".idx")],
            facts={"lines": lines})
    context.log.info(f"released {text} ({size:,} bytes): the slice holds one sequence per line, and "
                     f"{proof.compared} sampled sequences decode back to their lines (MM_RAW_FILES=release)")
    return {"clean_text_released": True, "clean_text_released_bytes": size,
            "sequences_decoded_back_before_release": proof.compared}


@dg.asset(
    key="owt_fairseq_data",
    group_name="owt",
    deps=[owt_binarized_slice, "gpt2_bpe"],
    kinds={"fairseq"},
    description="The fairseq data directory data2vec 2.0 and masked_lm read as is: dict.txt, "
    "train.* (slices MM_OWT_TRAIN_SLICES) and valid.* (MM_OWT_VALID_SLICES), merged in slice "
    f"order ({RULES}, 'fairseq mmap format').",
)
def owt_fairseq_data(
    context: dg.AssetExecutionContext, storage: StorageResource, owt_source: OwtSource,
) -> dg.MaterializeResult:
    layout = storage.layout
    splits = owt_source.splits()
    if missing := missing_binarized_slices(layout.owt, [n for numbers in splits.values() for n in numbers]):
        raise missing_input([f"{layout.owt.binarized_prefix(n)}.{{bin,idx}}" for n in missing], "owt_binarized_slice",
                            partition=[f"{n:02d}" for n in missing], detail="after owt_raw_slice and owt_clean_slice")
    files = gpt2_bpe_files(layout)
    try:
        with sole_writer(context, layout.owt.fairseq_dir, *layout.owt.fairseq_files()):
            counts = write_data_dir(layout.owt, splits, files.dict_txt, release_slices=storage.release_raw,
                                    log=context.log.info)
    except DamagedSliceError as exc:
        raise dg.Failure(
            f"{exc}. Materialize owt_binarized_slice for partition {exc.number:02d} again, then "
            "owt_fairseq_data.", allow_retries=False) from exc
    metadata: dict = {"path": dg.MetadataValue.path(str(layout.owt.fairseq_dir))}
    for split, numbers in splits.items():
        metadata[f"{split}_slices"] = ",".join(f"{n:02d}" for n in numbers)
        metadata[f"{split}_sequences"] = counts[split]["sequences"]
        metadata[f"{split}_tokens"] = counts[split]["tokens"]
    metadata["dict_symbols"] = counts["dict_symbols"]
    metadata["slice_bins_released"] = counts["slices_released"]
    metadata["state"] = "kept: already merged as asked" if counts["up_to_date"] else "merged"
    metadata["dagster/row_count"] = sum(counts[split]["sequences"] for split in splits)
    metadata["sequence_lengths"] = dg.MetadataValue.md(owt_lengths_markdown(layout.owt.fairseq_dir, list(splits)))
    return dg.MaterializeResult(metadata=metadata)
