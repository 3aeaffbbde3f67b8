"""A raw upstream file, fetched verified or kept from an earlier run once verified again.

A file an earlier materialization kept is checked again (its format, and the sha256 the source
publishes or that materialization recorded) before it is reused; one that fails is fetched again.
A hub refusal (401/403) becomes a message that says what to do (accept the terms, set HF_TOKEN).

With MM_RAW_FILES=release a consumer removes the raw file once its own outputs are committed and
verified (`release_raw_file`), leaving a record of the size and sha256 (`mm_assets.common.released`).
While every output named there is present (and, for a source whose outputs can be proved again,
`outputs_stand` finds nothing wrong with them) the file counts as verified and is not fetched
again; otherwise the next materialization fetches it again (docs/footprint.md).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import dagster as dg

from mm_assets.common.hashing import sha256_of
from mm_assets.common.locks import describe_owner
from mm_assets.common.released import ReleasedFile, covering_release, forget_release, release
from mm_assets.fetch.http import DownloadError, download_lock
from mm_assets.fetch.hub import explain_refusal, parse_resolve_url
from mm_assets.fetch.sources import fetch_file, is_remote, join_source
from mm_assets.fetch.verify import VerificationError, Verifier, verify_existing

from .resources import HttpResource, StorageResource


class DownloadConfig(dg.Config):
    """Run config of every download asset: fetch again even when a verified file is kept."""

    force_download: bool = False


@dataclass(frozen=True)
class RawFile:
    path: Path
    size: int
    sha256: str
    reused: bool
    resumed_from: int
    verified: tuple[str, ...]
    released: bool = False  # gone from disk; its outputs stand for it

    def asset_metadata(self, source: str) -> dict:
        """What a download asset reports of its one file: where it is and came from, what was verified."""
        return {"path": dg.MetadataValue.path(str(self.path)), "source": source, **self.metadata(),
                "verified": verified_markdown(self.verified)}

    def metadata(self, prefix: str = "") -> dict:
        return {
            f"{prefix}bytes": self.size,
            f"{prefix}sha256": self.sha256,
            f"{prefix}reused_existing_file": self.reused,
            f"{prefix}resumed_from_byte": self.resumed_from,
            f"{prefix}released": self.released,
        }


def recorded_metadata(context: dg.AssetExecutionContext, key: str, asset_key: str | None = None) -> str | None:
    """A value this partition's (or asset's) last materialization recorded, if any; of `asset_key`
    (same partition) when given, else of the asset being materialized."""
    partitions = [context.partition_key] if context.has_partition_key else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset_key) if asset_key else context.asset_key,
                              asset_partitions=partitions), limit=1).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get(key)
    return value.value if value is not None else None


def fetch_or_reuse(context: dg.AssetExecutionContext, http: HttpResource, source: str, relative: str,
                   dest: Path, *, verify: Verifier, expected_sha256: str | None = None,
                   recorded_key: str = "sha256", force: bool = False,
                   outputs_stand: Optional[Callable[[ReleasedFile], list[str]]] = None) -> RawFile:
    """`dest` verified: kept when it passes again, else fetched from `source` (URL or folder).

    A released `dest` whose outputs are all present (its release record says which) is not fetched,
    nor is it there to verify. `outputs_stand(record)`: for a source whose outputs can be proved
    again (ImageNet's images against their shard's part), what is wrong with them now; anything, and
    the file is fetched again.
    """
    if not force and (record := covering_release(dest)) is not None:
        problems = outputs_stand(record) if outputs_stand is not None else []
        if not problems:
            context.log.info(f"{dest} was released on {record.released_at} once its outputs were verified "
                             f"({', '.join(record.outputs)}); they stand, so it is not fetched again")
            proved = ("its outputs proved again now",) if outputs_stand is not None else ()
            return RawFile(dest, record.size, record.sha256, True, 0,
                           (f"released after its outputs were verified; sha256 {record.sha256} as recorded then",
                            *proved), released=True)
        context.log.warning(f"{dest} was released, but its outputs no longer stand ({problems[0]}): fetched again")
    if dest.is_file() and not force:
        recorded = recorded_metadata(context, recorded_key) if expected_sha256 is None else None
        # Under the download lock: a bad kept file is removed, and that must not race a download.
        with download_lock(dest, owner=describe_owner(context.run.run_id)):
            try:
                if dest.is_file():
                    actual = sha256_of(dest)  # read once: for the check and for the metadata
                    checked = verify_existing(
                        dest, expected_sha256=expected_sha256 or recorded, verify=verify, sha256=actual,
                        expected_from="pinned" if expected_sha256 else "recorded by the last materialization")
                    context.log.info(f"{dest} is already complete and verified again; kept")
                    return RawFile(dest, dest.stat().st_size, actual, True, 0, checked)
            except VerificationError as exc:
                context.log.warning(f"the kept file failed verification and is fetched again: {exc}")
    policy = http.policy(source)
    try:
        result = fetch_file(source, relative, dest, policy=policy, log=context.log.info, verify=verify,
                            expected_sha256=expected_sha256, owner=describe_owner(context.run.run_id))
    except DownloadError as exc:
        explained = exc if not is_remote(source) else explain_refusal(
            exc, join_source(source, relative), parse_resolve_url(source), policy, token_set=bool(http.hf_token))
        if explained is exc:
            raise
        raise explained from exc
    forget_release(dest)  # a file again: an old record no longer describes it
    return RawFile(dest, result.size, result.sha256, False, result.resumed_from, result.verified)


def release_raw_file(context: dg.AssetExecutionContext, storage: StorageResource, raw: Path, raw_asset: str,
                     outputs: list[Path], *, facts: dict | None = None) -> dict:
    """With MM_RAW_FILES=release, remove `raw` now that `outputs` are committed and verified; the
    metadata saying what happened. Its size and sha256 come from `raw_asset`'s last materialization
    (the same partition), so a rerun of that asset reports them without fetching."""
    if not storage.release_raw or not raw.is_file():
        return {"raw_file_released": False} if raw.is_file() else {}
    with download_lock(raw, owner=describe_owner(context.run.run_id)):  # not while a download verifies it
        size = raw.stat().st_size
        recorded = recorded_metadata(context, "sha256", raw_asset)
        sha256 = recorded if recorded and recorded_metadata(context, "bytes", raw_asset) == size else sha256_of(raw)
        release(raw, size=size, sha256=sha256, outputs=outputs, facts=facts)
    context.log.info(f"released {raw} ({size:,} bytes): {', '.join(map(str, outputs))} verified and stand for it "
                     "(MM_RAW_FILES=release)")
    return {"raw_file_released": True, "raw_file_released_bytes": size}


def verified_markdown(checks: tuple[str, ...]) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {check}" for check in checks) or "nothing to check against")
