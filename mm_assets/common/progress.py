"""Progress at intervals for long steps: done, rate and ETA, sent to any logging callable."""

from __future__ import annotations

import time
from typing import Callable


def _human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1000:
            return f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


class Progress:
    """Calls `log` at most every `interval` seconds with what is done, the rate and the ETA."""

    def __init__(
        self,
        what: str,
        log: Callable[[str], None] | None,
        *,
        total: float | None = None,
        unit: str = "bytes",
        interval: float = 10.0,
    ) -> None:
        self.what, self.log, self.total, self.unit, self.interval = what, log, total, unit, interval
        self.done = 0.0
        self.started = self._last = time.monotonic()

    def _fmt(self, value: float) -> str:
        return _human_bytes(value) if self.unit == "bytes" else f"{value:,.0f} {self.unit}"

    def advance(self, amount: float) -> None:
        self.done += amount
        now = time.monotonic()
        if self.log is not None and now - self._last >= self.interval:
            self._last = now
            self.log(self.message(now))

    def message(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.what}: {self._fmt(self.done)}"
        if self.total:
            text += f" of {self._fmt(self.total)} ({100 * self.done / self.total:.1f}%)"
        text += f", {self._fmt(rate)}/s"
        if self.total and rate > 0:
            text += f", ETA {max(self.total - self.done, 0) / rate:.0f} s"
        return text

    def finish(self) -> None:
        if self.log is not None:
            self.log(self.message() + " (done)")
