"""`ordered_map` keeps order and its bounds; `default_workers` reads the cgroup CPU quota."""

import os
import random
import threading
import time

import pytest

from mm_assets.common.parallel import cgroup_cpu_quota, default_workers, ordered_map


def _mm_workers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("mm-worker")]


class _Ledger:
    """What `ordered_map` holds: items read from the input and not yet handed back."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes, self.read, self.returned = sizes, 0, 0
        self.peak_items = self.peak_bytes = self.running = self.peak_running = 0
        self.lock = threading.Lock()

    def items(self):
        for index in range(len(self.sizes)):
            self.read += 1
            # the newest item read may be waiting for room; every other one is in flight
            in_flight = range(self.returned, self.read - 1)
            self.peak_items = max(self.peak_items, len(in_flight))
            self.peak_bytes = max(self.peak_bytes, sum(self.sizes[i] for i in in_flight))
            yield index

    def work(self, index: int) -> int:
        with self.lock:
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
        time.sleep(random.Random(index).uniform(0, 0.004))  # completion order differs from input order
        with self.lock:
            self.running -= 1
        return index * 10


def test_results_come_back_in_input_order_within_the_item_window():
    ledger = _Ledger([1] * 300)
    results = []
    for result in ordered_map(ledger.work, ledger.items(), workers=4, window=6):
        results.append(result)
        ledger.returned += 1
    assert results == [10 * i for i in range(300)]
    assert 1 < ledger.peak_items <= 6
    assert ledger.peak_running <= 4
    assert not _mm_workers()


def test_the_byte_budget_bounds_what_is_held():
    sizes = [random.Random(i).choice([10, 40, 90, 150]) for i in range(200)]
    sizes[50] = 500  # larger than the budget: it runs alone
    ledger = _Ledger(sizes)
    results = []
    for result in ordered_map(ledger.work, ledger.items(), workers=4, window=50,
                              size=lambda index: sizes[index], max_bytes=300):
        results.append(result)
        ledger.returned += 1
    assert results == [10 * i for i in range(200)]
    assert ledger.peak_bytes <= 500  # the budget, or the one item larger than it
    assert ledger.peak_items < 50  # the bytes bound, not the item window, was what held it back


def test_without_a_byte_budget_the_same_items_hold_more():
    """The control for the test above: the item window alone lets the bytes grow past 300."""
    sizes = [random.Random(i).choice([10, 40, 90, 150]) for i in range(200)]
    ledger = _Ledger(sizes)
    for _ in ordered_map(ledger.work, ledger.items(), workers=4, window=50):
        ledger.returned += 1
    assert ledger.peak_bytes > 300


def test_an_error_propagates_cancels_the_rest_and_leaves_no_thread():
    started = []
    lock = threading.Lock()

    def work(index: int) -> int:
        with lock:
            started.append(index)
        if index == 5:
            raise ValueError("item 5 is broken")
        time.sleep(0.002)
        return index

    results = []
    with pytest.raises(ValueError, match="item 5 is broken"):
        for result in ordered_map(work, range(10_000), workers=3, window=8):
            results.append(result)
    assert results == [0, 1, 2, 3, 4]
    assert max(started) < 5 + 8 + 1  # nothing beyond the window was started; the rest cancelled
    assert not _mm_workers()


def test_stopping_early_leaves_no_thread():
    mapped = ordered_map(lambda x: x, range(10_000), workers=3)
    assert [next(mapped) for _ in range(3)] == [0, 1, 2]
    mapped.close()
    assert not _mm_workers()


def _fake_cgroup(tmp_path, proc_line: str, files: dict[str, str]):
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    root.mkdir(exist_ok=True)
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(proc_line)
    return {"cgroup_root": root, "proc_cgroup": proc}


@pytest.mark.parametrize("cpu_max,quota,workers", [
    ("150000 100000\n", 1.5, 2),  # rounded up
    ("100000 100000\n", 1.0, 1),
    ("20000 100000\n", 0.2, 1),  # at least 1
    ("max 100000\n", None, None),  # no quota: the affinity
])
def test_cgroup_v2_cpu_max_is_read(tmp_path, cpu_max, quota, workers):
    where = _fake_cgroup(tmp_path, "0::/\n", {"cpu.max": cpu_max})
    assert cgroup_cpu_quota(**where) == quota
    affinity = len(os.sched_getaffinity(0))
    assert default_workers(**where) == (min(workers, affinity) if workers else affinity)


def test_cgroup_v2_quota_of_a_parent_applies(tmp_path):
    where = _fake_cgroup(tmp_path, "0::/pod/container\n",
                         {"pod/cpu.max": "100000 100000\n", "pod/container/cpu.max": "max 100000\n"})
    assert cgroup_cpu_quota(**where) == 1.0
    assert default_workers(**where) == 1


def test_cgroup_v1_cfs_quota_is_read(tmp_path):
    where = _fake_cgroup(tmp_path, "4:memory:/x\n1:cpu,cpuacct:/\n0::/\n",
                         {"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"})
    assert cgroup_cpu_quota(**where) == 0.5
    assert default_workers(**where) == 1
    unlimited = _fake_cgroup(tmp_path / "u", "1:cpu:/\n0::/\n",
                             {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"})
    assert cgroup_cpu_quota(**unlimited) is None


def test_no_cgroup_files_means_the_affinity(tmp_path):
    where = {"cgroup_root": tmp_path / "absent", "proc_cgroup": tmp_path / "absent_proc"}
    assert cgroup_cpu_quota(**where) is None
    assert default_workers(**where) == len(os.sched_getaffinity(0))
