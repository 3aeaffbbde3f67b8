"""A binarized slice proved against its cleaned text, before the text is released.

With MM_RAW_FILES=release the cleaned text goes once the slice is made; the fairseq judge can then
no longer compare decoded samples with it. So the step compares first: one sequence per line,
every sequence ending in `</s>`, and sampled sequences (the first, the last and up to `samples`
more) decoded back through the GPT-2 BPE to exactly their line. It also returns the text's line
count and sha256, which its release record keeps for the checks.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mm_assets.formats.fairseq_mmap import read_index_header, read_sizes
from mm_assets.text.gpt2_bpe import EOS, UNK, Gpt2BpeFiles, load_encoding, load_fairseq_lookup

READ_BLOCK = 1 << 24


@dataclass
class SliceProof:
    lines: int = 0
    sha256: str = ""
    compared: int = 0
    problems: list[str] = field(default_factory=list)


def _sampled(count: int, samples: int, seed: int) -> list[int]:
    if count == 0:
        return []
    rng = random.Random(seed)
    return sorted({0, count - 1, *(rng.randrange(count) for _ in range(samples))})


def prove_slice_against_text(prefix: str | Path, text: str | Path, bpe: Gpt2BpeFiles, *,
                             samples: int = 64, seed: int = 0) -> SliceProof:
    """Compare the slice `<prefix>.{bin,idx}` with its cleaned `text` (see the module docstring)."""
    prefix, text = Path(prefix), Path(text)
    info = read_index_header(prefix.with_suffix(".idx"))
    sizes = read_sizes(prefix.with_suffix(".idx"))
    wanted = _sampled(info.count, samples, seed)
    proof, lines, digest = SliceProof(), {}, hashlib.sha256()
    targets = iter(wanted)
    target, position, carry = next(targets, None), 0, b""
    with open(text, "rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
            parts = (carry + block).split(b"\n")
            carry = parts.pop()
            for line in parts:
                if position == target:
                    lines[position] = line.decode("utf-8")
                    target = next(targets, None)
                position += 1
    proof.lines, proof.sha256 = position + (1 if carry else 0), digest.hexdigest()
    if proof.lines != info.count:
        proof.problems.append(f"{info.count:,} sequences for {proof.lines:,} cleaned lines")
        return proof
    if not len(sizes):
        return proof
    tokens = np.memmap(prefix.with_suffix(".bin"), dtype=info.dtype, mode="r")
    starts = np.concatenate([[0], np.cumsum(np.asarray(sizes, dtype=np.int64))[:-1]])
    lookup, _ = load_fairseq_lookup(bpe.dict_txt)
    to_gpt2 = np.full(int(lookup.max()) + 1, -1, dtype=np.int64)
    to_gpt2[lookup] = np.arange(len(lookup))
    to_gpt2[UNK] = -1
    encoding = load_encoding(bpe)
    for index in wanted:
        sequence = np.asarray(tokens[starts[index]:starts[index] + sizes[index]], dtype=np.int64)
        if int(sequence[-1]) != EOS:
            proof.problems.append(f"sequence {index:,} does not end with </s>")
            continue
        ids = to_gpt2[sequence[:-1]]
        if (ids < 0).any():
            continue  # an <unk> (a BPE id missing from dict.txt) has no text to compare
        decoded = encoding.decode(ids.tolist())
        proof.compared += 1
        if decoded != lines[index]:
            proof.problems.append(f"sequence {index:,} decodes to {decoded[:80]!r}, the line is {lines[index][:80]!r}")
    return proof
