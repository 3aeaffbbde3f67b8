"""Upstream zips as assets: each download an asset of its own, and the image folders extracted
from them (COCO's and Visual Genome's images and captions come this way).

A download is fetched with `mm_assets.fetch` (resumed, verified by `check_zip` before it is
renamed into place) and its sha256 recorded; a file kept from an earlier run is verified again
(structure and the recorded sha256) before it is reused. Extraction is atomic per folder
(`extract_folder`); a member found damaged there removes the zip, so the next run fetches it again.
Members over the archive caps (`MM_ARCHIVE_*`) are not extracted; the metadata counts them by reason.
With MM_RAW_FILES=release an image zip goes once its folder is extracted and proved against the
members' CRC-32s; the record of the extraction keeps those CRCs, so the folder's check still proves
every image without the zip, and the download asset does not fetch the zip again while the folder
is there (docs/footprint.md).
"""

import json
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import dagster as dg

from mm_assets.common.released import covering_release
from mm_assets.fetch.sources import is_remote, local_path
from mm_assets.fetch.verify import VerificationError
from mm_assets.formats.archive_limits import ArchiveLimitError, ArchiveLimits
from mm_assets.formats.extracted import FolderProof, verify_extracted_folder
from mm_assets.formats.shape import NoRowsKeptError
from mm_assets.formats.zip import (
    ZipFormatError,
    check_zip,
    extract_folder,
    extraction_record,
    remove_stale_extractions,
)
from mm_assets.layout import DataLayout

from .inputs import missing_input
from .metadata import check_result, tally_table
from .raw_files import DownloadConfig, fetch_or_reuse, release_raw_file
from .resources import StorageResource
from .retry import retry_only_what_can_heal
from .writing import sole_writer


def file_location(url: str) -> tuple[str, str]:
    """A setting that names one file (a URL or a local path) as (folder, file name)."""
    if is_remote(url):
        parts = urlsplit(url)
        folder, _, name = parts.path.rpartition("/")
        return f"{parts.scheme}://{parts.netloc}{folder}", name
    path = local_path(url)
    return str(path.parent), path.name


def zip_download_check(required: tuple[str, ...] = ()) -> Callable[[Path], str]:
    """`check_zip` as a download check: a failure makes the fetch remove the file (and retry only
    when the transfer may have been cut)."""

    def verify(path: Path) -> str:
        try:
            return check_zip(path, required=required)
        except ZipFormatError as exc:
            raise VerificationError(str(exc)) from exc

    return verify


def zip_download_asset(
    *,
    key: str,
    group: str,
    source_resource: str,
    location: Callable[[dg.ConfigurableResource], tuple[str, str]],
    destination: Callable[[DataLayout], Path],
    required_members: tuple[str, ...] = (),
    description: str,
) -> dg.AssetsDefinition:
    """An asset that brings one upstream zip to `destination`, verified, its sha256 recorded.

    `location(source)` gives the (base URL or folder, relative path) of the file from the source
    resource named `source_resource`.
    """

    @dg.asset(
        key=key,
        group_name=group,
        kinds={"zip"},
        pool=f"{group}_download",
        required_resource_keys={"storage", "http", source_resource},
        description=description + " An image zip released once its folder was extracted and proved "
        "(MM_RAW_FILES=release, docs/footprint.md) is reported with its recorded sha256, not fetched again.",
    )
    @retry_only_what_can_heal
    def _download(context: dg.AssetExecutionContext, config: DownloadConfig) -> dg.MaterializeResult:
        storage: StorageResource = context.resources.storage
        base, relative = location(getattr(context.resources, source_resource))
        raw = fetch_or_reuse(context, context.resources.http, base, relative, destination(storage.layout),
                             verify=zip_download_check(required_members), force=config.force_download)
        return dg.MaterializeResult(metadata={**raw.asset_metadata(f"{base.rstrip('/')}/{relative}"),
                                              "dagster/uri": str(raw.path)})

    return _download


def extract_image_folders(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    zips: dict[str, tuple[Path, str]],
    images_dir: Path,
    *,
    workers: int,
    limits: ArchiveLimits,
) -> dict:
    """Extract each `folder: (zip path, its asset key)` into `images_dir/folder`; the metadata.

    A missing zip names the asset to materialize; a damaged member removes the zip and says so.
    Members skipped (unsafe names, over a cap) are counted per reason, `skipped_<reason>`, and
    listed per folder.
    With MM_RAW_FILES=release each zip goes once its folder is proved against the members' CRCs.
    """
    metadata: dict = {"path": dg.MetadataValue.path(str(images_dir))}
    skipped: dict[str, int] = {}
    total = 0
    for folder, (zip_path, asset_key) in zips.items():
        target = images_dir / folder
        record = extraction_record(images_dir, folder)
        released = None if zip_path.is_file() else covering_release(zip_path)  # its outputs include `record`
        recorded = json.loads(record.read_text()) if released is not None else {}
        if released is not None and recorded.get("archive") == released.facts.get("archive"):
            total += recorded["files"]
            metadata[f"{folder}_images"] = recorded["files"]
            metadata[f"{folder}_bytes"] = recorded["bytes"]
            metadata[f"{folder}_state"] = "already extracted; its zip was released (MM_RAW_FILES=release)"
            for key, count in recorded.get("skipped", {}).items():  # counted when it was extracted
                skipped[key] = skipped.get(key, 0) + count
            continue
        if not zip_path.is_file():
            raise missing_input(zip_path, asset_key)
        with sole_writer(context, target):
            if removed := remove_stale_extractions(images_dir, folder):
                context.log.info(f"removed {removed} folder(s) a killed run left behind")
            try:
                done = extract_folder(zip_path, folder, images_dir, workers=workers, log=context.log.info,
                                      limits=limits)
            except (ArchiveLimitError, NoRowsKeptError) as exc:  # the same zip is refused again: no retry, kept
                raise dg.Failure(f"{exc}. Nothing was extracted into {target}.", allow_retries=False) from exc
            except ZipFormatError as exc:
                zip_path.unlink(missing_ok=True)  # damaged inside: never read again as if whole
                raise dg.Failure(f"{exc}. The zip was removed: materialize {asset_key} again to fetch it, "
                                 f"then {context.asset_key.to_user_string()}.", allow_retries=False) from exc
            if storage.release_raw:
                proof = verify_extracted_folder(images_dir, folder, workers=workers)
                if not proof.ok:
                    raise dg.Failure(f"{target} does not match {zip_path.name} ({proof.bad:,} file(s)): "
                                     f"{'; '.join(proof.problems)}. The zip is kept: remove {target} and "
                                     f"materialize {context.asset_key.to_user_string()} again.", allow_retries=False)
                metadata.update({f"{folder}_{key}": value for key, value in release_raw_file(
                    context, storage, zip_path, asset_key, [target, record],
                    facts={"archive": json.loads(record.read_text())["archive"]}).items()})
        total += done.files
        metadata[f"{folder}_images"] = done.files
        metadata[f"{folder}_bytes"] = done.bytes
        metadata[f"{folder}_state"] = ("already extracted from this zip" if done.up_to_date else
                                       f"extracted ({done.kept_from_earlier_run:,} files kept from a killed run)")
        if done.skipped.total():
            metadata[f"{folder}_skipped_members"] = tally_table(done.skipped)
            context.log.warning(f"{zip_path.name}: {done.skipped.total():,} member(s) not extracted: "
                                + ", ".join(f"{key} {n:,}" for key, n in sorted(done.skipped.counts.items())))
        for key, count in done.skipped.counts.items():
            skipped[key] = skipped.get(key, 0) + count
    for key, count in sorted(skipped.items()):
        metadata[f"skipped_{key}"] = count
    metadata["dagster/row_count"] = total
    return metadata


def extracted_images_check(asset_key: str, folders: Callable[[dg.AssetCheckExecutionContext], list[str]],
                           images_dir: Callable[[DataLayout], Path], required_resource_keys: set[str] = frozenset()):
    """An asset check: every image of each folder matches the size and CRC-32 its zip member had
    (recorded at extraction), so the check holds whether or not the zip was released."""

    @dg.asset_check(asset=asset_key, name="images_match_zip_crcs", blocking=False,
                    required_resource_keys={"storage", "compute", *required_resource_keys},
                    description="Every extracted image is present with the size and CRC-32 of its zip member, "
                    "as recorded when the folder was extracted (the zip itself may be released).")
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        root = images_dir(context.resources.storage.layout)
        proofs: dict[str, FolderProof] = {
            folder: verify_extracted_folder(root, folder, workers=context.resources.compute.worker_count)
            for folder in folders(context)}
        problems = [problem for proof in proofs.values() for problem in proof.problems]
        return check_result(
            problems, images_checked=sum(proof.files + proof.bad for proof in proofs.values()),
            images_bad=sum(proof.bad for proof in proofs.values()),
            **({"what_to_do": f"remove the damaged folder(s) under {root} and materialize their zip asset(s) "
                "and this asset again"} if problems else {}))

    return _check
