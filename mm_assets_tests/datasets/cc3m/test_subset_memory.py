"""`cc3m_subset`'s memory does not grow with the index: the same N drawn from an index 10x as long
(valid rows 10x as sparse, so 10x the shards drawn on) peaks at about the same memory."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from mm_assets.datasets.cc3m.image_cache import IDENTITY_KEY, SHARD_SCHEMA, shard_identity
from mm_assets.datasets.cc3m.index import read_shard, write_index
from mm_assets.datasets.cc3m.paths import Cc3mPaths
from mm_assets.datasets.cc3m.rules import ImageRules
from mm_assets.datasets.cc3m.shards import shard_keys
from mm_assets.formats.parquet import parquet_writer

REPO = Path(__file__).resolve().parents[3]
SUBSET = 2_000
SHARD_SIZE = 1_000


def cached_index(root, rows: int) -> Cc3mPaths:
    """An index of `rows` rows and every shard written as the image cache writes it (its parquet
    with its identity, and its tar), `SUBSET` rows `ok` spread evenly, the rest 404s."""
    paths = Cc3mPaths(root / "cc3m")
    root.mkdir(parents=True)
    tsv = root / "index.tsv"
    with tsv.open("w", encoding="utf-8") as handle:
        for row_id in range(rows):
            handle.write(f"a caption of row {row_id} with some words\thttp://host{row_id % 97}.example/{row_id}.jpg\n")
    write_index(tsv, paths.index, shard_size=SHARD_SIZE, max_malformed=0)
    step = rows // SUBSET
    paths.shard_tar("00000").parent.mkdir(parents=True, exist_ok=True)
    for shard in shard_keys(rows, SHARD_SIZE):
        index_rows = read_shard(paths.index, shard)
        ids = index_rows["row_id"].to_pylist()
        ok = [row_id % step == step - 1 for row_id in ids]
        columns = {
            "row_id": ids, "url": index_rows["url"].to_pylist(), "caption": index_rows["caption"].to_pylist(),
            "sha256": [f"{row_id:064x}" if good else None for row_id, good in zip(ids, ok)],
            "width": [640 if good else None for good in ok], "height": [480 if good else None for good in ok],
            "format": ["jpg" if good else None for good in ok], "bytes": [1000 if good else None for good in ok],
            "status": ["ok" if good else "http_error" for good in ok], "http_status": [200 if good else 404 for good in ok],
        }
        with parquet_writer(paths.shard_index(shard), SHARD_SCHEMA, compression="zstd") as writer:
            writer.write_table(pa.table(columns, schema=SHARD_SCHEMA))
            identity = shard_identity(shard, index_rows, ImageRules())
            writer.add_key_value_metadata({IDENTITY_KEY: json.dumps(identity, sort_keys=True).encode()})
        paths.shard_tar(shard).write_bytes(b"\0" * 1024)  # select_subset reads no image
    return paths


MEASURE = textwrap.dedent("""
    import json, sys, tracemalloc
    import pyarrow as pa
    from pathlib import Path
    from mm_assets.datasets.cc3m.paths import Cc3mPaths
    from mm_assets.datasets.cc3m.rules import ImageRules
    from mm_assets.datasets.cc3m.subset import select_subset
    pool = pa.default_memory_pool()
    arrow_before = pool.max_memory()
    tracemalloc.start()
    subset = select_subset(Cc3mPaths(Path(sys.argv[1])), size=int(sys.argv[2]), repeats=10, rules=ImageRules())
    python_peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"rows": subset.table.num_rows, "shards": len(subset.shards),
                      "peak": python_peak + pool.max_memory() - arrow_before}))
""")


def _peak(paths: Cc3mPaths) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(paths.root), str(SUBSET)], capture_output=True,
                          text=True, check=True, cwd=REPO)
    return json.loads(done.stdout)


@pytest.mark.slow
def test_peak_memory_of_the_selection_does_not_grow_with_the_index(tmp_path):
    small = _peak(cached_index(tmp_path / "small", 20_000))
    large = _peak(cached_index(tmp_path / "large", 200_000))
    assert (small["rows"], large["rows"]) == (SUBSET, SUBSET)
    assert (small["shards"], large["shards"]) == (20, 200)
    # Arrow's peak and Python's, in a fresh process each: the shard tables drawn on grow 10x
    # (about 20 MB more if they were held), the selection must not (loose: 1.5x and 4 MiB).
    assert large["peak"] < 1.5 * small["peak"] + 4 * 2**20, (small, large)
