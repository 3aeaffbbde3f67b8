"""Every Unicode code point, in contexts that exercise each branch of GPT-2's pre-tokenizer,
encoded by this pipeline and by fairseq's own encoder script: the ids must be the same.

This is what keeps the tiktoken fast path honest: its regex engine's Unicode tables are older than
those of the `regex` module fairseq uses, and the pipeline must notice every line where that
matters. (fairseq-preprocess is left out here: the dictionary step is covered by the exactness test,
and binarizing 30 M tokens through it would take minutes.)
"""

import sys

import numpy as np
import pytest

from mm_assets.formats.fairseq_mmap import read_sizes
from mm_assets.judge.recipe import run_bpe_encoder
from mm_assets.text.binarize import binarize_text
from mm_assets.text.gpt2_bpe import EOS, N_SPECIAL

pytestmark = pytest.mark.e2e


def _probe_lines() -> list[str]:
    lines = []
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF or chr(cp) in "\n\r":
            continue
        c = chr(cp)
        lines.append(f"a{c}b {c}{c}1 x{c} {c}'s {c}\u00e9 {c}!".strip())
    return lines


def _fairseq_index_to_gpt2(dict_txt) -> np.ndarray:
    table = np.full(N_SPECIAL + 50260, -1, dtype=np.int64)
    for i, line in enumerate(open(dict_txt, encoding="utf-8")):
        symbol = line.split(" ")[0]
        if symbol.isdigit():
            table[N_SPECIAL + i] = int(symbol)
    return table


def test_every_code_point_matches_fairseq(bpe_dir, fairseq_python, tmp_path):
    text = tmp_path / "probes.txt"
    text.write_text("\n".join(_probe_lines()) + "\n", encoding="utf-8")
    counts = binarize_text(text, tmp_path / "ours", bpe_dir, workers=2)
    assert counts["reference_split_lines"] > 0  # the slow path was needed and taken

    reference = tmp_path / "reference.bpe"
    run_bpe_encoder(text, reference, bpe_dir, workers=2, fairseq_python=fairseq_python)
    raw = reference.read_bytes()
    theirs = np.array(raw.split(), dtype=np.int64)
    line_ends = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == ord("\n"))
    assert line_ends.size == counts["sequences"]

    tokens = np.fromfile(tmp_path / "ours.bin", dtype=np.uint16)
    sizes = read_sizes(tmp_path / "ours.idx")
    eos_positions = np.cumsum(sizes.astype(np.int64)) - 1
    assert (tokens[eos_positions] == EOS).all()
    keep = np.ones(tokens.size, dtype=bool)
    keep[eos_positions] = False
    ours = _fairseq_index_to_gpt2(bpe_dir / "dict.txt")[tokens[keep]]
    assert ours.size == theirs.size
    mismatch = np.flatnonzero(ours != theirs)
    assert mismatch.size == 0, f"first mismatch at token {mismatch[:1]}"
    # Same ids per line, not only in total: compare the line lengths too.
    spaces = np.frombuffer(raw, dtype=np.uint8) == ord(" ")
    per_line = np.add.reduceat(spaces, np.concatenate(([0], line_ends[:-1] + 1))) + 1
    assert (per_line == sizes - 1).all()
