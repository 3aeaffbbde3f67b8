"""Per-output locks: one writer, who holds it, stale files taken over, nothing left behind."""

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading

import pytest

from mm_assets.common import locks
from mm_assets.common.locks import OutputLocked, describe_owner, exclusive_lock, is_locked

WHAT = "partition 00 of owt_clean_slice"
HOLDER_SCRIPT = """
import sys
from mm_assets.common.locks import exclusive_lock
with exclusive_lock(sys.argv[1], owner=sys.argv[2], what="test output"):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@contextlib.contextmanager
def held_by_another_process(lock_file, owner):
    """A process holding the lock until the block ends; the block gets its Popen."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER_SCRIPT, str(lock_file), owner],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "locked"
        yield process
    finally:
        if process.poll() is None:
            process.communicate("release\n", timeout=30)


def test_second_writer_is_told_who_holds_it_and_nothing_is_left(tmp_path):
    lock_file = tmp_path / ".lock-slice00.txt"
    owner = "run 1a2b3c (pid 123 on host x)"
    with held_by_another_process(lock_file, owner):
        assert is_locked(lock_file)
        with pytest.raises(OutputLocked) as err:
            with exclusive_lock(lock_file, owner="me", what=WHAT):
                pass
        assert str(err.value) == f"{WHAT} is being written by {owner}"
    assert not is_locked(lock_file)
    assert list(tmp_path.iterdir()) == []


def test_a_waiting_writer_gets_the_lock_when_the_holder_is_done(tmp_path):
    lock_file = tmp_path / ".lock"
    acquired = threading.Event()

    def wait_for_lock():
        with exclusive_lock(lock_file, owner="waiter", what=WHAT, wait=True, poll_s=0.02):
            assert lock_file.read_text() == "waiter"
            acquired.set()

    with held_by_another_process(lock_file, "first") as holder:
        waiter = threading.Thread(target=wait_for_lock)
        waiter.start()
        assert not acquired.wait(0.3)
        holder.communicate("release\n", timeout=30)
    waiter.join(timeout=30)
    assert acquired.is_set() and list(tmp_path.iterdir()) == []


def test_a_lock_file_left_by_a_killed_process_is_taken_over(tmp_path):
    lock_file = tmp_path / ".lock"
    with held_by_another_process(lock_file, "doomed run") as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert lock_file.read_text() == "doomed run" and not is_locked(lock_file)  # stale
    with exclusive_lock(lock_file, owner=describe_owner("2b3c4d"), what=WHAT):
        assert lock_file.read_text() == f"run 2b3c4d (pid {os.getpid()} on host {os.uname().nodename})"
    assert list(tmp_path.iterdir()) == []


def test_no_lock_file_remains_when_the_writer_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with exclusive_lock(tmp_path / ".lock", owner="me", what=WHAT):
            raise RuntimeError("the write failed")
    assert list(tmp_path.iterdir()) == []


def test_a_lock_file_replaced_between_open_and_flock_is_not_trusted(tmp_path, monkeypatch):
    """B opens the file A holds; before B's flock, A releases (unlinks) and C creates and locks a
    new file at the same path. B's flock then succeeds on A's orphaned file: B must notice that
    the path names another file, and find C holding the real lock."""
    lock_file = tmp_path / ".lock"
    first, third = contextlib.ExitStack(), contextlib.ExitStack()
    first.enter_context(exclusive_lock(lock_file, owner="A", what=WHAT))
    real_flock = fcntl.flock
    replaced = []

    def flock_after_a_replacement(fd, operation):
        if not replaced:
            replaced.append(True)
            first.close()
            third.enter_context(exclusive_lock(lock_file, owner="C", what=WHAT))
        return real_flock(fd, operation)

    monkeypatch.setattr(locks.fcntl, "flock", flock_after_a_replacement)
    with third:
        with pytest.raises(OutputLocked, match="is being written by C"):
            with exclusive_lock(lock_file, owner="B", what=WHAT):
                pass
        assert replaced and lock_file.read_text() == "C"
    assert list(tmp_path.iterdir()) == []

