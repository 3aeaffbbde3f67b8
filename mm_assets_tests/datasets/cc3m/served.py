"""A generated CC3M sample served on loopback, with the class each row must end in.

Used by the CC3M tests of the library and of the Dagster layer: the sample's paths say how the
server answers, so the expected outcome of every row is known without asking the code under test.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from mm_assets.samples.cc3m.sample import Sample, generate_sample, index_lines, write_sample
from mm_assets.samples.cc3m.sample_server import make_app
from mm_assets_tests.helpers import LoopbackServer

# What the image cache must record for each behaviour (a /slow/ answer comes after the timeout: the
# tests' timeouts are under the server's `slow_s`).
CACHE_STATUS = {
    "img": "ok", "no-head": "ok", "missing": "http_error", "gone": "http_error", "error": "http_error",
    "html": "not_an_image", "html-as-image": "not_an_image", "slow": "timeout", "truncated": "truncated",
    "cut": "truncated", "partial-file": "truncated", "to-placeholder": "placeholder", "placeholder": "ok",
    "tiny": "too_small", "noai": "robots_refused", "dead-host": "connection_error", "bad-url": "bad_url",
}


def expected_status(path: str) -> str:
    if "://" in path or path.startswith("data:"):
        return "bad_url"
    behaviour, _, rest = path.lstrip("/").partition("/")
    if behaviour == "img" and rest.endswith("-bomb.png"):
        return "too_many_pixels"
    if behaviour == "redirect":
        return "ok" if int(rest.partition("/")[0]) <= 5 else "too_many_redirects"
    return CACHE_STATUS[behaviour]


def served_bytes(sample: Sample, path: str) -> bytes:
    if path.startswith("/placeholder/"):
        return sample.placeholder
    return sample.images[path.rsplit("/", 1)[-1]]


@dataclass
class ServedSample:
    sample: Sample
    index: Path  # caption TAB url, Google's layout
    urls: list[str]
    server: LoopbackServer
    requests: list[tuple[str, str]]  # (method, path) of every request the server answered

    def expected(self) -> list[str]:
        return [expected_status(row.path) for row in self.sample.rows]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def served_sample(directory: Path, rows: int, *, seed: int = 0, max_delay_s: float = 0.0,
                  delay_seed: int = 0, slow_s: float = 1.5, sample: Sample | None = None) -> Iterator[ServedSample]:
    sample = sample or generate_sample(rows, seed=seed)
    _, paths = write_sample(sample, directory / "sample")
    requests: list[tuple[str, str]] = []
    app = make_app(sample.images, sample.placeholder, slow_s=slow_s, max_delay_s=max_delay_s, seed=delay_seed,
                   on_request=lambda method, path: requests.append((method, path)))
    with LoopbackServer(app) as server:
        lines = index_lines(paths, server.url(""), f"http://127.0.0.1:{unused_port()}")
        index = directory / "GCC-training.tsv"
        index.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        yield ServedSample(sample, index, [line.split("\t", 1)[1] for line in lines], server, requests)


def expected_subset(sample: Sample, *, shard_size: int, size: int, repeats: int) -> list[int]:
    """The subset's row ids, worked out from the sample's behaviours alone (not by the code under
    test): the first `size` rows that end `ok`, over the shortest run of shards that holds them,
    less the placeholder's direct copies once a placeholder redirect is among those shards or its
    bytes reach `repeats` URLs there."""
    statuses = [expected_status(row.path) for row in sample.rows]
    shards = -(-len(statuses) // shard_size)
    for last in range(shards):
        rows = range(min((last + 1) * shard_size, len(statuses)))
        copies = [r for r in rows if sample.rows[r].path.startswith("/placeholder/")]
        redirects = [r for r in rows if sample.rows[r].path.startswith("/to-placeholder/")]
        placeholder_out = bool(redirects) or len(copies) + len(redirects) >= repeats
        valid = [r for r in rows if statuses[r] == "ok" and not (placeholder_out and r in copies)]
        if len(valid) >= size:
            return valid[:size]
    raise ValueError("the sample holds too few valid rows")
