"""OpenWebText: raw slices -> cleaned text -> binarized slices -> one fairseq data directory."""

from pathlib import Path

import dagster as dg

from mm_assets.common.hashing import sha256_of
from mm_assets.common.locks import describe_owner
from mm_assets.datasets.owt.archive import OwtArchiveError, verify_raw_slice
from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.datasets.owt.data_dir import DamagedSliceError, missing_binarized_slices, write_data_dir
from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.defs.shared.resources import ComputeResource, HttpResource, StorageResource
from mm_assets.defs.shared.retry import NETWORK_RETRY_POLICY, retry_only_transient_download_errors
from mm_assets.defs.shared.writing import sole_writer
from mm_assets.fetch.sources import fetch_file
from mm_assets.fetch.verify import VerificationError, verify_existing
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


def _recorded_sha256(context: dg.AssetExecutionContext) -> str | None:
    """The sha256 this partition's last materialization recorded, if any."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[context.partition_key]), limit=1,
    ).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get("sha256")
    return value.value if value is not None else None


@dg.asset(
    key="owt_raw_slice",
    group_name="owt",
    partitions_def=owt_slices,
    kinds={"tar"},
    pool="owt_download",
    retry_policy=NETWORK_RETRY_POLICY,
    description="One `subsets/urlsf_subsetNN.tar` of Skylion007/openwebtext from MM_OWT_URL (the "
    "hub, with HF_TOKEN when set, or a local mirror), resumed with HTTP Range requests and renamed "
    "into place only once verified: the announced size, the hub's sha256, and the archive's "
    f"structure ({RULES}, 'OpenWebText archives'). A file kept from an earlier run is verified "
    "again before it is reused.",
)
def owt_raw_slice(
    context: dg.AssetExecutionContext, config: RawSliceConfig, storage: StorageResource,
    http: HttpResource, owt_source: OwtSource,
) -> dg.MaterializeResult:
    number = int(context.partition_key)
    dest = storage.layout.owt.raw_slice(number)
    verified: tuple[str, ...] | None = None
    if dest.is_file() and not config.force_download:
        try:
            verified = verify_existing(dest, expected_sha256=_recorded_sha256(context), verify=verify_raw_slice)
            context.log.info(f"{dest} is already complete and verified again; kept")
        except VerificationError as exc:
            context.log.warning(f"the kept file failed verification and is fetched again: {exc}")
    reused = verified is not None
    if reused:
        size, sha256, resumed = dest.stat().st_size, sha256_of(dest), 0
    else:
        with retry_only_transient_download_errors():
            result = fetch_file(
                owt_source.url, slice_hub_path(number), dest, policy=http.policy(owt_source.url),
                log=context.log.info, verify=verify_raw_slice, owner=describe_owner(context.run.run_id),
            )
        size, sha256, resumed, verified = result.size, result.sha256, result.resumed_from, result.verified
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(dest)),
        "source": owt_source.url,
        "bytes": size,
        "sha256": sha256,
        "reused_existing_file": reused,
        "resumed_from_byte": resumed,
        "verified": dg.MetadataValue.md("\n".join(f"- {check}" for check in verified) or "nothing to check against"),
    })


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
) -> dg.MaterializeResult:
    number = int(context.partition_key)
    paths = storage.layout.owt
    raw = _require_input(paths.raw_slice(number), number, "owt_raw_slice")
    output = paths.clean_slice(number)
    with sole_writer(context, output):
        try:
            counts = clean_slice(raw, output, workers=compute.worker_count, log=context.log.info)
        except OwtArchiveError as exc:
            raw.unlink(missing_ok=True)  # damaged inside a block: never read again as if whole
            raise dg.Failure(
                f"slice {number:02d}: the raw slice is damaged: {exc}. It was removed: materialize "
                f"owt_raw_slice for partition {number:02d} again to fetch it again, then owt_clean_slice.",
                allow_retries=False) from exc
    skipped = counts.pop("skipped_members")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(output)),
        "dagster/row_count": counts["lines_kept"],
        **counts,
        "skipped_members": dg.MetadataValue.md(skipped.as_markdown()),
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
    bin_path, idx_path = prefix.with_suffix(".bin"), prefix.with_suffix(".idx")
    with sole_writer(context, bin_path, bin_path, idx_path):
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
    try:
        with sole_writer(context, layout.owt.fairseq_dir, *layout.owt.fairseq_files()):
            counts = write_data_dir(layout.owt, splits, files.dict_txt, log=context.log.info)
    except DamagedSliceError as exc:
        raise dg.Failure(
            f"{exc}. Materialize owt_binarized_slice for partition {exc.number:02d} again (its cleaned "
            "text is kept), then owt_fairseq_data.", allow_retries=False) from exc
    metadata: dict = {"path": dg.MetadataValue.path(str(layout.owt.fairseq_dir))}
    for split, numbers in splits.items():
        metadata[f"{split}_slices"] = ",".join(f"{n:02d}" for n in numbers)
        metadata[f"{split}_sequences"] = counts[split]["sequences"]
        metadata[f"{split}_tokens"] = counts[split]["tokens"]
    metadata["dict_symbols"] = counts["dict_symbols"]
    metadata["dagster/row_count"] = sum(counts[split]["sequences"] for split in splits)
    return dg.MaterializeResult(metadata=metadata)
