"""The deployment tests' promise: every process they start is gone afterwards, also a child that
left the process group and ignores SIGTERM, and a server that dies at start is reported with its log."""

import sys
import time

import psutil
import pytest

from .services import Service, ServiceError

# A parent that starts a child in a new session (out of its group) which ignores SIGTERM, then waits.
TREE = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('child up', flush=True); time.sleep(600)"],
    start_new_session=True)
print("parent up", child.pid, flush=True)
time.sleep(600)
"""


def test_stop_ends_the_whole_tree_even_a_stubborn_child_outside_the_group(tmp_path):
    service = Service("tree", [sys.executable, "-c", TREE], env={}, log_path=tmp_path / "tree.log").start()
    try:
        service.wait_until(lambda: "child up" in service.log_tail(), timeout=30, what="the child")
        processes = service.tree()
        assert len(processes) == 2
        child = next(p for p in processes if p.pid != service.pid)
        assert child.status() != psutil.STATUS_ZOMBIE
    finally:
        started = time.monotonic()
        service.stop(timeout=0.5)
    assert not service.alive()
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert time.monotonic() - started < 30


def test_a_server_that_dies_at_start_is_reported_with_its_log(tmp_path):
    service = Service("broken", [sys.executable, "-c", "print('bad config: no such table'); raise SystemExit(3)"],
                      env={}, log_path=tmp_path / "broken.log").start()
    try:
        with pytest.raises(ServiceError, match=r"broken exited \(3\) before ready:\n.*bad config: no such table"):
            service.wait_until(lambda: False, timeout=30, what="ready")
    finally:
        service.stop()
