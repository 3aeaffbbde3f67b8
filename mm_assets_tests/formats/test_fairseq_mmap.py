"""The fairseq mmap writer, judged by fairseq itself: its `MMapIndexedDataset` reads what
`MMapWriter` writes (empty sequences included), its `MMapIndexedDatasetBuilder` writes the same
bytes from the same items, and the token dtype switches where fairseq's `best_fitting_int_dtype`
switches it (uint16 below a vocabulary of 65,500 symbols, uint32 from there)."""

import json
import subprocess

import numpy as np
import pytest

from mm_assets.common.atomic import AtomicGroup
from mm_assets.formats.fairseq_mmap import (
    CODE_DTYPES,
    DTYPE_CODES,
    MMapWriter,
    check_dataset,
    read_index_header,
    vocabulary_dtype,
)

# Run in .venv-fairseq: argv[1] is a JSON request; prints a JSON answer.
FAIRSEQ_SIDE = r"""
import json, sys
import numpy as np, torch
from fairseq.data import indexed_dataset as fi

request = json.loads(sys.argv[1])
answer = {"codes": {str(code): np.dtype(dtype).name for code, dtype in fi._code_to_dtype.items()},
          "best_fitting": {str(size): np.dtype(fi.best_fitting_int_dtype(size)).name
                           for size in request.get("vocab_sizes", [])}}
for prefix in request.get("read", []):
    try:
        dataset = fi.MMapIndexedDataset(prefix)
        answer[prefix] = {"dtype": np.dtype(dataset._index.dtype).name, "sizes": dataset.sizes.tolist(),
                          "items": [dataset[i].tolist() for i in range(len(dataset))]}
    except Exception as exc:
        answer[prefix] = {"error": f"{type(exc).__name__}: {exc}"}
for build in request.get("build", []):
    dtype = fi.best_fitting_int_dtype(build["vocab_size"])
    builder = fi.MMapIndexedDatasetBuilder(build["prefix"] + ".bin", dtype=dtype)
    for item in build["items"]:
        builder.add_item(torch.tensor(item, dtype=torch.int64))
    builder.finalize(build["prefix"] + ".idx")
print(json.dumps(answer))
"""


def fairseq(fairseq_python: str, **request) -> dict:
    done = subprocess.run([fairseq_python, "-c", FAIRSEQ_SIDE, json.dumps(request)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def write(prefix, blocks: list[list[list[int]]], dtype) -> None:
    """Each block through one `add_block` call, as the pipeline streams them."""
    with AtomicGroup() as group:
        writer = MMapWriter(prefix, group, dtype=dtype)
        for items in blocks:
            sizes = np.array([len(item) for item in items], dtype=np.int32)
            writer.add_block(np.array([t for item in items for t in item], dtype=np.int64), sizes)
        writer.finish()


def build_both(tmp_path, fairseq_python, items: list[list[int]], vocab_size: int) -> dict:
    """`items` written by MMapWriter (in two blocks) and by fairseq's builder; fairseq reads ours."""
    ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
    write(ours, [items[:len(items) // 2], items[len(items) // 2:]], vocabulary_dtype(vocab_size))
    answer = fairseq(fairseq_python, read=[ours], build=[{"prefix": theirs, "vocab_size": vocab_size,
                                                           "items": items}])
    for suffix in (".bin", ".idx"):
        assert (tmp_path / f"ours{suffix}").read_bytes() == (tmp_path / f"theirs{suffix}").read_bytes(), suffix
    return answer[ours]


def test_fairseq_reads_every_item_empty_ones_included(tmp_path, fairseq_python):
    rng = np.random.default_rng(0)
    items = [[], [0, 2], *[rng.integers(4, 50_264, size=n).tolist() + [2] for n in (1, 7, 0, 40)], [], [5], []]
    read = build_both(tmp_path, fairseq_python, items, vocab_size=50_264)
    assert read == {"dtype": "uint16", "sizes": [len(item) for item in items], "items": items}
    summary = check_dataset(tmp_path / "ours")
    assert (summary.count, summary.tokens, summary.dtype) == (len(items), sum(map(len, items)), np.uint16)


def test_merged_datasets_read_as_one(tmp_path, fairseq_python):
    """`add_dataset` (how slices become train.bin) keeps every item, an empty part included."""
    parts = [[[4, 5, 2], []], [], [[], [9, 9, 9, 2]]]
    for number, items in enumerate(parts):
        write(tmp_path / f"part{number}", [items], np.uint16)
    with AtomicGroup() as group:
        writer = MMapWriter(tmp_path / "merged", group)
        for number in range(len(parts)):
            writer.add_dataset(tmp_path / f"part{number}")
        writer.finish()
    items = [item for part in parts for item in part]
    answer = fairseq(fairseq_python, read=[str(tmp_path / "merged")])
    assert answer[str(tmp_path / "merged")]["items"] == items


def test_only_empty_sequences_are_what_fairseq_writes_though_its_reader_refuses_them(tmp_path, fairseq_python):
    """Zero tokens leave an empty `.bin`: the builder writes it, fairseq's reader cannot map it
    (so a data directory must never hold such a split); our own check accepts the pair."""
    ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
    write(ours, [[[], [], []]], np.uint16)
    answer = fairseq(fairseq_python, read=[ours], build=[{"prefix": theirs, "vocab_size": 50_264,
                                                           "items": [[], [], []]}])
    for suffix in (".bin", ".idx"):
        assert (tmp_path / f"ours{suffix}").read_bytes() == (tmp_path / f"theirs{suffix}").read_bytes()
    assert "cannot mmap an empty file" in answer[ours]["error"]
    summary = check_dataset(ours)
    assert (summary.count, summary.tokens) == (3, 0)


def test_no_items_at_all(tmp_path):
    write(tmp_path / "none", [], np.uint16)
    assert read_index_header(tmp_path / "none.idx").count == 0
    assert (tmp_path / "none.bin").stat().st_size == 0


BOUNDARY_SIZES = [65_499, 65_500, 4_294_967_294, 4_294_967_295]


@pytest.fixture(scope="module")
def fairseq_dtypes(fairseq_python) -> dict:
    """fairseq's dtype codes and its `best_fitting_int_dtype` on each side of both boundaries."""
    return fairseq(fairseq_python, vocab_sizes=BOUNDARY_SIZES)


@pytest.mark.parametrize("vocab_size", BOUNDARY_SIZES)
def test_dtype_switches_where_fairseq_switches_it(vocab_size, fairseq_dtypes):
    assert vocabulary_dtype(vocab_size).name == fairseq_dtypes["best_fitting"][str(vocab_size)]


@pytest.mark.parametrize("vocab_size, dtype, top_token", [(65_499, "uint16", 65_498), (65_500, "uint32", 65_499),
                                                          (70_000, "uint32", 69_999)])
def test_each_side_of_the_boundary_reads_back(tmp_path, fairseq_python, vocab_size, dtype, top_token):
    """Tokens up to the largest index of the vocabulary survive, and the bytes are fairseq's own."""
    items = [[0, top_token, 2], [], [top_token - 1, 4, top_token, 2]]
    read = build_both(tmp_path, fairseq_python, items, vocab_size)
    assert read == {"dtype": dtype, "sizes": [3, 0, 4], "items": items}
    assert read_index_header(tmp_path / "ours.idx").dtype == np.dtype(dtype)


def test_dtype_codes_are_fairseqs(fairseq_dtypes):
    """Every code means to us what it means to fairseq (7 is fairseq's np.double: float64)."""
    codes = fairseq_dtypes["codes"]
    assert {str(code): dtype.name for code, dtype in CODE_DTYPES.items()} == codes
    assert all(codes[str(code)] == dtype.name for dtype, code in DTYPE_CODES.items())


def test_writer_refuses_a_dtype_fairseq_has_no_code_for(tmp_path):
    with AtomicGroup() as group, pytest.raises(ValueError, match="float32 has no fairseq mmap code"):
        MMapWriter(tmp_path / "tokens", group, dtype=np.float32)
