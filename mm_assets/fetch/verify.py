"""A fetched file is renamed into place only once it is verified, and a bad one is removed.

Every check that applies is run on the complete file: its size against the size the server
announced, its sha256 against a pinned hash or the one the source publishes (the Hugging Face hub's
`X-Linked-ETag`), and its format against a caller's `verify`. A file that fails is removed, so a
damaged download never becomes an input, and the error says what the bytes really are (an error
page, an empty body...) and that the next run fetches the file again. What passed is returned as
a short record ("size 5678 = Content-Length", ...) for the caller's metadata.

`DownloadError` lives here rather than in `http` so that this module needs no HTTP code.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mm_assets.common.hashing import sha256_of
from mm_assets.fetch.content import describe_content, read_head, sniff

# Checks a complete file's format; returns what it checked, raises VerificationError if unsound.
Verifier = Callable[[Path], str]

REFETCH = "the file was removed and the next run fetches it again"
PINNED = "pinned"  # where an expected sha256 came from, in messages: a pin, or a recorded hash


class DownloadError(Exception):
    """A download failed; the message names the URL and the reason.

    `retryable` says whether trying again later may help (a timeout, a broken connection, a 5xx,
    a download that may have been cut) or not (a refused address, a 404, a mismatch with a pinned
    checksum, damaged bytes that the server sent whole).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class VerificationError(DownloadError):
    """A complete file is not what it should be. A `verify` callable raises it with the damage in
    the user's terms ("no end-of-archive marker: the archive stops after 3 members")."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


@dataclass(frozen=True)
class Announced:
    """What the source said about the file before its bytes came, and in which header."""

    size: int | None = None
    size_source: str = ""
    sha256: str | None = None
    sha256_source: str = ""


NOTHING_ANNOUNCED = Announced()


def check_announced_sha256(
    path: Path, *, label: str, announced: Announced, expected_sha256: str | None
) -> None:
    """Refuse, before reading the body, a source that publishes another hash than the pin.

    Retrying will not help (the source serves another version), so this is not retryable; a
    partial file at `path` belongs to that other version and is removed.
    """
    if expected_sha256 is None or announced.sha256 is None:
        return
    if announced.sha256 != expected_sha256.lower():
        path.unlink(missing_ok=True)
        raise VerificationError(
            f"{label}: the pinned sha256 is {expected_sha256} but the server's "
            f"{announced.sha256_source} says {announced.sha256}: the source serves another "
            "version of this file; nothing was kept", retryable=False,
        )


def check_complete_file(
    path: Path,
    *,
    label: str,
    size: int,
    sha256: str | None,
    announced: Announced = NOTHING_ANNOUNCED,
    expected_sha256: str | None = None,
    expected_from: str = PINNED,
    verify: Verifier | None = None,
    retryable: bool = True,
) -> tuple[str, ...]:
    """Check the complete file at `path` (`size` bytes hashing to `sha256`); return what passed.

    On failure `path` is removed and VerificationError raised, retryable unless it is a mismatch
    with a pinned hash (or `retryable` is False: a local mirror's file will not change).
    `label` names the file and its source in messages ("x.tar from https://...").
    """
    try:
        return _run_checks(path, label, size, sha256, announced, expected_sha256, expected_from, verify, retryable)
    except VerificationError:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise


def verify_existing(
    path: str | os.PathLike,
    *,
    expected_sha256: str | None = None,
    expected_from: str = PINNED,
    verify: Verifier | None = None,
    sha256: str | None = None,
) -> tuple[str, ...]:
    """Re-check a file an earlier run kept (perhaps with less checking); remove it if it fails.

    The same checks as a fresh download, less the server's announcements. `expected_from` says
    where `expected_sha256` came from ("pinned", or the materialization that recorded it);
    `sha256`, the file's hash when the caller has it already (a large file is read once).
    """
    path = Path(path)
    if sha256 is None and expected_sha256 is not None:
        sha256 = sha256_of(path)
    return check_complete_file(
        path, label=str(path), size=path.stat().st_size, sha256=sha256,
        expected_sha256=expected_sha256, expected_from=expected_from, verify=verify,
    )


def _run_checks(path, label, size, sha256, announced, expected_sha256, expected_from, verify, retryable):
    checks = []
    if announced.size is not None:
        checks.append(_check_size(label, size, announced, retryable))
    if verify is not None:  # before the hash: a failed format check tells more about the bytes
        checks.append(_run_verify(path, label, size, verify, retryable))
    if expected_sha256 is not None or announced.sha256 is not None:
        checks.append(_check_sha256(path, label, size, sha256, announced, expected_sha256, expected_from, retryable))
    return tuple(checks)


def _check_size(label: str, size: int, announced: Announced, retryable: bool) -> str:
    if size != announced.size:
        what = "truncated" if size < announced.size else "longer than announced"
        raise VerificationError(
            f"{label}: {what}: got {size:,} of {announced.size:,} bytes announced by the "
            f"server's {announced.size_source}; {REFETCH}", retryable=retryable,
        )
    return f"size {size} = {announced.size_source}"


def _check_sha256(path, label, size, sha256, announced, expected_sha256, expected_from, retryable) -> str:
    """Against the pin when there is one (it agrees with any announcement by now), else the
    announcement. A pinned mismatch is not retryable: the source holds other bytes."""
    if sha256 is None:
        raise ValueError(f"{label}: there is a sha256 to check against but no sha256 was computed")
    pinned = expected_sha256 is not None
    reference = expected_sha256.lower() if pinned else announced.sha256
    if sha256 != reference:
        says = (f"expected {reference} ({expected_from})" if pinned
                else f"the server's {announced.sha256_source} says {reference}")
        raise VerificationError(
            f"{label}: sha256 mismatch: {says}, the bytes hash to {sha256} and are "
            f"{describe_content(read_head(path), size)}; {REFETCH}",
            retryable=retryable and not pinned,
        )
    sources = [f"expected_sha256 ({expected_from})"] if pinned else []
    if announced.sha256 == reference:
        sources.append(announced.sha256_source)
    return "sha256 = " + " = ".join(sources)


def _run_verify(path: Path, label: str, size: int, verify: Verifier, retryable: bool) -> str:
    try:
        return verify(path)
    except VerificationError as exc:
        head = read_head(path)
        cause = sniff(head).likely_cause
        problem = f"{cause}; the check said: {exc}" if cause else str(exc)
        raise VerificationError(
            f"{label}: {describe_content(head, size)}, not what was expected: {problem}; {REFETCH}",
            retryable=retryable,
        ) from exc
