"""A source setting is a URL or a local folder laid out like that URL; fetch files from either."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from mm_assets.fetch.http import (
    DownloadError,
    DownloadResult,
    FetchPolicy,
    download_file_sync,
    download_lock,
    finish_partial,
    partial_path,
)
from mm_assets.fetch.verify import Verifier


def is_remote(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def unsupported_source(source: str) -> str | None:
    """Why `source` is not an http(s) URL with a host, a file:// URL or a local path; None if it is."""
    try:
        parts = urlsplit(source.strip())
        if parts.scheme in ("http", "https"):
            return None if parts.hostname else "the URL has no host"
    except ValueError as exc:  # e.g. an unclosed [ in an IPv6 host
        return f"not a URL: {exc}"
    if parts.scheme in ("", "file") or len(parts.scheme) == 1:  # one letter: a Windows drive
        return None
    return f"scheme {parts.scheme}:// is not supported"


def local_path(source: str) -> Path:
    """A local folder or file given as a path or a file:// URL."""
    parts = urlsplit(source)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:
        raise ValueError(f"unsupported source {source!r}: use http(s)://, file:// or a local path")
    return Path(source)


def join_source(base: str, relative: str) -> str:
    if is_remote(base):
        return base.rstrip("/") + "/" + relative.lstrip("/")
    return str(local_path(base) / relative)


def fetch_file(
    base: str,
    relative: str,
    dest: str | os.PathLike,
    *,
    policy: FetchPolicy = FetchPolicy(),
    expected_sha256: str | None = None,
    log: Callable[[str], None] | None = None,
    verify: Verifier | None = None,
    owner: str | None = None,
) -> DownloadResult:
    """Bring `relative` from a URL base or a local folder to `dest`, atomically and verified.

    From either, `dest` appears only once the file passes `expected_sha256` and `verify` (see
    `download_to_file`); a copy that fails is removed. A damaged file in a local mirror stays
    damaged, so that failure is not retryable.
    """
    dest = Path(dest)
    if is_remote(base):
        return download_file_sync(
            join_source(base, relative), dest, policy=policy,
            expected_sha256=expected_sha256, log=log, verify=verify, owner=owner,
        )
    source = local_path(base) / relative
    if not source.is_file():
        raise DownloadError(f"{source}: no such file in the local mirror {base}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with download_lock(dest, owner):
        return _copy_verified(source, dest, expected_sha256, verify)


def _copy_verified(
    source: Path, dest: Path, expected_sha256: str | None, verify: Verifier | None
) -> DownloadResult:
    part = partial_path(dest)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(source, "rb") as reader, open(part, "wb") as writer:
            while block := reader.read(1 << 22):
                digest.update(block)
                writer.write(block)
                size += len(block)
        sha256 = digest.hexdigest()
        verified = finish_partial(
            part, dest, label=f"{dest.name} from {source}", size=size, sha256=sha256,
            expected_sha256=expected_sha256, verify=verify, retryable=False,
        )
    except BaseException:
        part.unlink(missing_ok=True)  # unlike a download, a copy is not worth resuming
        raise
    return DownloadResult(dest, size, sha256, 0, str(source), verified)
