"""Atomic file writes: a temp file beside the target, fsynced, then renamed over it.

A killed process leaves at most a `.tmp-*` file, never a half-written target; readers see the old
file or the whole new one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

FILE_MODE = 0o644  # mkstemp's 0600 would hide artifacts from other users of a shared data root


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable: without it a crash can forget the new name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temp file for writing; on clean exit it replaces `target`, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class AtomicGroup:
    """Several outputs that appear together: each is written to a temp path, all renamed at commit.

    Used for `.bin`/`.idx` pairs and data directories so that a crash never leaves a `.bin` whose
    `.idx` belongs to another run.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def path_for(self, target: str | os.PathLike) -> Path:
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
        os.fchmod(fd, FILE_MODE)
        os.close(fd)
        self._pending.append((Path(tmp), target))
        return Path(tmp)

    def commit(self) -> None:
        for tmp, _ in self._pending:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        for tmp, target in self._pending:
            os.replace(tmp, target)
        for parent in {target.parent for _, target in self._pending}:
            fsync_dir(parent)
        self._pending.clear()

    def discard(self) -> None:
        for tmp, _ in self._pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._pending.clear()

    def __enter__(self) -> "AtomicGroup":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def remove_stale_temps(*targets: str | os.PathLike) -> int:
    """Delete the `.tmp-<name>.*` leftovers that killed runs left for these targets.

    Only the given targets' temps: other partitions may be writing beside them right now.
    """
    removed = 0
    for target in map(Path, targets):
        if not target.parent.is_dir():
            continue
        for leftover in target.parent.glob(f".tmp-{glob.escape(target.name)}.*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed += 1
    return removed
