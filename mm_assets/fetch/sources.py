"""A source setting is a URL or a local folder laid out like that URL; fetch files from either."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from mm_assets.common.atomic import atomic_write
from mm_assets.fetch.http import DownloadError, DownloadResult, FetchPolicy, download_file_sync


def is_remote(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


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
) -> DownloadResult:
    """Bring `relative` from a URL base or a local folder to `dest`, atomically and verified."""
    dest = Path(dest)
    if is_remote(base):
        return download_file_sync(
            join_source(base, relative), dest, policy=policy,
            expected_sha256=expected_sha256, log=log,
        )
    source = local_path(base) / relative
    if not source.is_file():
        raise DownloadError(f"{source}: no such file in the local mirror {base}")
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as reader, atomic_write(dest) as writer:
        while block := reader.read(1 << 22):
            digest.update(block)
            writer.write(block)
            size += len(block)
        sha256 = digest.hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise DownloadError(
                f"{dest.name}: sha256 mismatch: expected {expected_sha256}, got {sha256} "
                f"(from {source})"
            )
    return DownloadResult(dest, size, sha256, 0, str(source))
