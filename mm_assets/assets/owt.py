"""OpenWebText: raw slices -> cleaned text -> binarized slices -> one fairseq data directory."""

from pathlib import Path

import dagster as dg

from mm_assets.core.atomic import AtomicGroup, remove_stale_temps
from mm_assets.core.fairseq_mmap import MMapWriter
from mm_assets.core.gpt2_bpe import N_SPECIAL, verify_gpt2_bpe
from mm_assets.core.owt_binarize import binarize_text
from mm_assets.core.owt_clean import clean_slice
from mm_assets.core.sources import fetch_file, sha256_of
from mm_assets.core.slices import OWT_PARTITION_KEYS, slice_tar_name
from mm_assets.resources import MMSettings

from .fetching import retry_only_transient_download_errors

owt_slices = dg.StaticPartitionsDefinition(OWT_PARTITION_KEYS)
FAIRSEQ_DATA_FILES = ["dict.txt", "train.bin", "train.idx", "valid.bin", "valid.idx"]


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
    retry_policy=dg.RetryPolicy(
        max_retries=4, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    description="One `subsets/urlsf_subsetNN.tar` of Skylion007/openwebtext, streamed to disk "
    "atomically from MM_OWT_URL (the hub, with HF_TOKEN when set, or a local mirror); a partial "
    "download is resumed with an HTTP Range request.",
)
def owt_raw_slice(
    context: dg.AssetExecutionContext, config: RawSliceConfig, settings: MMSettings
) -> dg.MaterializeResult:
    number = int(context.partition_key)
    dest = settings.layout.owt_raw_slice(number)
    if dest.is_file() and not config.force_download:
        context.log.info(f"{dest} is already complete (renamed into place only when whole); kept")
        size, sha256, reused, resumed = dest.stat().st_size, sha256_of(dest), True, 0
    else:
        with retry_only_transient_download_errors():
            result = fetch_file(
                settings.owt_url, slice_tar_name(number), dest,
                policy=settings.fetch_policy(settings.owt_url), log=context.log.info,
            )
        size, sha256, reused, resumed = result.size, result.sha256, False, result.resumed_from
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(dest)),
        "source": settings.owt_url,
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
    description="The slice's documents cleaned by DESIGN.md §2 (both tar levels in archive order, "
    "invalid UTF-8 and NULs dropped, lines split as text mode does, stripped, empty lines "
    "dropped): one line of text per future sequence.",
)
def owt_clean_slice(context: dg.AssetExecutionContext, settings: MMSettings) -> dg.MaterializeResult:
    number = int(context.partition_key)
    layout = settings.layout
    raw = _require_input(layout.owt_raw_slice(number), number, "owt_raw_slice")
    output = layout.owt_clean_slice(number)
    remove_stale_temps(output)
    counts = clean_slice(raw, output, workers=settings.worker_count, log=context.log.info)
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
    "appended) as an mmap .bin/.idx pair, byte-identical to the fairseq recipe.",
)
def owt_binarized_slice(context: dg.AssetExecutionContext, settings: MMSettings) -> dg.MaterializeResult:
    number = int(context.partition_key)
    layout = settings.layout
    text = _require_input(layout.owt_clean_slice(number), number, "owt_clean_slice")
    files = verify_gpt2_bpe(layout.gpt2_bpe_dir)
    prefix = layout.owt_binarized_prefix(number)
    remove_stale_temps(prefix.with_suffix(".bin"), prefix.with_suffix(".idx"))
    counts = binarize_text(text, prefix, files.directory, workers=settings.worker_count,
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
    "train.* (slices MM_OWT_TRAIN_SLICES) and valid.* (MM_OWT_VALID_SLICES), merged in slice order.",
)
def owt_fairseq_data(context: dg.AssetExecutionContext, settings: MMSettings) -> dg.MaterializeResult:
    layout = settings.layout
    splits = {"train": settings.train_slices(), "valid": settings.valid_slices()}
    overlap = set(splits["train"]) & set(splits["valid"])
    if overlap:
        raise dg.Failure(f"slices {sorted(overlap)} are in both train and valid")
    missing = [
        f"{number:02d}" for numbers in splits.values() for number in numbers
        if not all(layout.owt_binarized_prefix(number).with_suffix(ext).is_file() for ext in (".bin", ".idx"))
    ]
    if missing:
        raise dg.Failure(
            f"binarized slice(s) {', '.join(missing)} missing under {layout.owt_dir / 'binarized'}; "
            "materialize owt_raw_slice, owt_clean_slice, owt_binarized_slice for those partitions"
        )
    files = verify_gpt2_bpe(layout.gpt2_bpe_dir)
    out_dir = layout.owt_fairseq_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(*(out_dir / name for name in FAIRSEQ_DATA_FILES))
    metadata: dict = {"path": dg.MetadataValue.path(str(out_dir))}
    with AtomicGroup() as group:
        for split, numbers in splits.items():
            writer = MMapWriter(out_dir / split, group)
            for number in numbers:
                writer.add_dataset(layout.owt_binarized_prefix(number))
                context.log.info(f"{split}: added slice {number:02d} ({writer.tokens:,} tokens so far)")
            writer.finish()
            metadata[f"{split}_slices"] = ",".join(f"{n:02d}" for n in numbers)
            metadata[f"{split}_sequences"] = writer.count
            metadata[f"{split}_tokens"] = writer.tokens
        dict_bytes = files.dict_txt.read_bytes()
        group.path_for(out_dir / "dict.txt").write_bytes(dict_bytes)
    metadata["dict_symbols"] = N_SPECIAL + dict_bytes.count(b"\n")
    metadata["dagster/row_count"] = metadata["train_sequences"] + metadata["valid_sequences"]
    return dg.MaterializeResult(metadata=metadata)
