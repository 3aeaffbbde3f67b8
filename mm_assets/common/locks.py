"""One writer per output: an OS file lock beside the output, named after who holds it.

The lock is `fcntl.flock` on a small file holding the holder's description, so a second writer's
error can say who is writing. The kernel drops the lock when its holder dies, so a lock file left
by a killed process is simply taken over. Releasing unlinks the file (before unlocking, so that
nobody can take a lock on a name that is about to disappear), and acquiring checks after `flock`
that the path still names the file it locked: otherwise a releaser removed it in between and we
start again with the new file. So lock files do not pile up and two writers never both hold one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path
from typing import Iterator

# A non-waiting acquire retries this long: `is_locked` holds a shared lock for microseconds and
# must not make a writer fail.
_PROBE_GRACE_S = 0.05


class OutputLocked(Exception):
    """Another live process is writing this output."""

    def __init__(self, what: str, holder: str) -> None:
        super().__init__(f"{what} is being written by {holder}")
        self.what = what
        self.holder = holder


def lock_path_for(target: str | os.PathLike) -> Path:
    """The lock file of an output: `.lock-<name>` beside it (gone whenever no one holds it)."""
    target = Path(target)
    return target.parent / f".lock-{target.name}"


def describe_owner(run: str | None = None) -> str:
    """This process as a lock holder: "run 1a2b3c (pid 123 on host x)", or "pid 123 on host x"."""
    process = f"pid {os.getpid()} on host {socket.gethostname()}"
    return f"run {run} ({process})" if run else process


@contextlib.contextmanager
def exclusive_lock(
    lock_path: str | os.PathLike,
    *,
    owner: str,
    what: str,
    wait: bool = False,
    poll_s: float = 0.2,
) -> Iterator[None]:
    """Hold the lock at `lock_path` for the block; the lock file is gone afterwards.

    `owner` is written into the lock file for others' errors; `what` names the output in ours.
    With `wait` it polls until the holder is done; without, it raises `OutputLocked` at once.
    """
    lock_path = Path(lock_path)
    fd = _acquire(lock_path, owner=owner, what=what, wait=wait, poll_s=poll_s)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)  # still ours: no one else can lock this name while we hold it
        os.close(fd)


def is_locked(lock_path: str | os.PathLike) -> bool:
    """Whether a live process holds the lock at `lock_path` (a stale lock file is not held)."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the probe's shared lock
    return False


def _acquire(lock_path: Path, *, owner: str, what: str, wait: bool, poll_s: float) -> int:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    give_up_at = time.monotonic() + _PROBE_GRACE_S
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_all(fd).strip()
            os.close(fd)
            if not wait and time.monotonic() >= give_up_at:
                raise OutputLocked(what, holder or "another process") from None
            time.sleep(poll_s if wait else 0.01)
            continue
        except BaseException:
            os.close(fd)
            raise
        if _names_same_file(fd, lock_path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, owner.encode(), 0)
            return fd
        os.close(fd)  # we locked a file its holder had just unlinked: try the current one


def _names_same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _read_all(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode(errors="replace")
