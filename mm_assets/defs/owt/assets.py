"""OpenWebText: raw slices -> cleaned text -> binarized slices -> one fairseq data directory."""

from pathlib import Path

import dagster as dg

from mm_assets.common.atomic import remove_stale_temps
from mm_assets.common.hashing import sha256_of
from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.datasets.owt.data_dir import missing_binarized_slices, write_data_dir
from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.defs.shared.resources import ComputeResource, HttpResource, StorageResource
from mm_assets.defs.shared.retry import NETWORK_RETRY_POLICY, retry_only_transient_download_errors
from mm_assets.fetch.sources import fetch_file
from mm_assets.text.binarize import binarize_text
from mm_assets.text.gpt2_bpe import verify_gpt2_bpe

from .partitions import owt_slices
from .resources import OwtSource

RULES = "docs/data-rules.md"


def _require_input(path: Path, number: int, upstream: str) -> Path:
    if not path.is_file():
        raise dg.Failure(f"slice {number:02d}: {path} is missing; materialize {upstream} for partition {number:02d} first")
    return path


class RawSliceConfig(dg.Config):
    force_download: bool = False


@dg.asset(
    key="owt_raw_slice",
    group_name="owt",
    partitions_def=owt_slices,
    kinds={"tar"},
    pool="owt_download",
    retry_policy=NETWORK_RETRY_POLICY,
    description="One `subsets/urlsf_subsetNN.tar` of Skylion007/openwebtext, streamed to disk "
    "atomically from MM_OWT_URL (the hub, with HF_TOKEN when set, or a local mirror); a partial "
    "download is resumed with an HTTP Range request.",
)
def owt_raw_slice(
    context: dg.AssetExecutionContext, config: RawSliceConfig, storage: StorageResource,
    http: HttpResource, owt_source: OwtSource,
) -> dg.MaterializeResult:
    number = int(context.partition_key)
    dest = storage.layout.owt.raw_slice(number)
    if dest.is_file() and not config.force_download:
        context.log.info(f"{dest} is already complete (renamed into place only when whole); kept")
        size, sha256, reused, resumed = dest.stat().st_size, sha256_of(dest), True, 0
    else:
        with retry_only_transient_download_errors():
            result = fetch_file(
                owt_source.url, slice_hub_path(number), dest,
                policy=http.policy(owt_source.url), log=context.log.info,
            )
        size, sha256, reused, resumed = result.size, result.sha256, False, result.resumed_from
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(dest)),
        "source": owt_source.url,
        "bytes": size,
        "sha256": sha256,
        "reused_existing_file": reused,
        "resumed_from_byte": resumed,
    })


@dg.asset(
    key="owt_clean_slice",
    group_name="owt",
    partitions_def=owt_slices,
    deps=[owt_raw_slice],
    kinds={"text"},
    description="The slice's documents cleaned by the OWT cleaning rule "
    f"({RULES}, 'OpenWebText cleaning'): both tar levels in archive order, invalid UTF-8 and "
    "NULs dropped, lines split as text mode does, stripped, empty lines dropped. One line of "
    "text per future sequence.",
)
def owt_clean_slice(
    context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
) -> dg.MaterializeResult:
    number = int(context.partition_key)
    paths = storage.layout.owt
    raw = _require_input(paths.raw_slice(number), number, "owt_raw_slice")
    output = paths.clean_slice(number)
    remove_stale_temps(output)
    counts = clean_slice(raw, output, workers=compute.worker_count, log=context.log.info)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(output)),
        "dagster/row_count": counts["lines_kept"],
        **counts,
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
    text = _require_input(layout.owt.clean_slice(number), number, "owt_clean_slice")
    files = verify_gpt2_bpe(layout.gpt2_bpe_dir)
    prefix = layout.owt.binarized_prefix(number)
    remove_stale_temps(prefix.with_suffix(".bin"), prefix.with_suffix(".idx"))
    counts = binarize_text(text, prefix, files.directory, workers=compute.worker_count,
                           log=context.log.info)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(prefix) + ".{bin,idx}"),
        "dagster/row_count": counts["sequences"],
        **counts,
    })


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
    missing = missing_binarized_slices(layout.owt, [n for numbers in splits.values() for n in numbers])
    if missing:
        raise dg.Failure(
            f"binarized slice(s) {', '.join(f'{n:02d}' for n in missing)} missing under "
            f"{layout.owt.root / 'binarized'}; materialize owt_raw_slice, owt_clean_slice, "
            "owt_binarized_slice for those partitions"
        )
    files = verify_gpt2_bpe(layout.gpt2_bpe_dir)
    counts = write_data_dir(layout.owt, splits, files.dict_txt, log=context.log.info)
    metadata: dict = {"path": dg.MetadataValue.path(str(layout.owt.fairseq_dir))}
    for split, numbers in splits.items():
        metadata[f"{split}_slices"] = ",".join(f"{n:02d}" for n in numbers)
        metadata[f"{split}_sequences"] = counts[split]["sequences"]
        metadata[f"{split}_tokens"] = counts[split]["tokens"]
    metadata["dict_symbols"] = counts["dict_symbols"]
    metadata["dagster/row_count"] = sum(counts[split]["sequences"] for split in splits)
    return dg.MaterializeResult(metadata=metadata)
