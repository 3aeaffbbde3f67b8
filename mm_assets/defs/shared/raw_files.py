"""A raw upstream file, fetched verified or kept from an earlier run once verified again.

A file an earlier materialization kept is checked again (its format, and the sha256 the source
publishes or that materialization recorded) before it is reused; one that fails is fetched again.
A hub refusal (401/403) becomes a message that says what to do (accept the terms, set HF_TOKEN).
A file that `MM_RAW_FILES=release` removed is not fetched again while the outputs made from it
still match what was recorded (the caller's `released` says so, with the file's size and sha256).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import dagster as dg

from mm_assets.common.hashing import sha256_of
from mm_assets.common.locks import describe_owner
from mm_assets.fetch.http import DownloadError, download_lock
from mm_assets.fetch.hub import explain_refusal, parse_resolve_url
from mm_assets.fetch.sources import fetch_file, is_remote, join_source
from mm_assets.fetch.verify import VerificationError, Verifier, verify_existing

from .resources import HttpResource


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
    released: bool = False  # removed after its outputs were verified; size and sha256 are the recorded ones

    def metadata(self, prefix: str = "") -> dict:
        return {
            f"{prefix}bytes": self.size,
            f"{prefix}sha256": self.sha256,
            f"{prefix}reused_existing_file": self.reused,
            f"{prefix}resumed_from_byte": self.resumed_from,
            f"{prefix}released": self.released,
        }


def recorded_metadata(context: dg.AssetExecutionContext, key: str) -> str | None:
    """A value this partition's (or asset's) last materialization recorded, if any."""
    partitions = [context.partition_key] if context.has_partition_key else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=partitions), limit=1).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get(key)
    return value.value if value is not None else None


def fetch_or_reuse(context: dg.AssetExecutionContext, http: HttpResource, source: str, relative: str,
                   dest: Path, *, verify: Verifier, expected_sha256: str | None = None,
                   recorded_key: str = "sha256", force: bool = False,
                   released: Optional[Callable[[], Optional[tuple[int, str]]]] = None) -> RawFile:
    """`dest` verified: kept when it passes again, else fetched from `source` (URL or folder).

    `released`: for a `dest` that is gone, (size, sha256) it had if the outputs made from it are
    still intact, else None; then nothing is fetched.
    """
    if released is not None and not force and not dest.exists():
        record = released()
        if record is not None:
            context.log.info(f"{dest} was released after its outputs were verified; they still match, so it "
                             "is not fetched again")
            return RawFile(dest, record[0], record[1], True, 0,
                           ("released: the outputs made from it still match their recorded sizes and sha256",),
                           released=True)
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
    return RawFile(dest, result.size, result.sha256, False, result.resumed_from, result.verified)


def verified_markdown(checks: tuple[str, ...]) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {check}" for check in checks) or "nothing to check against")
