"""Asset check body, run in `.venv-fairseq` through Dagster Pipes: fairseq judges a data directory.

It loads the directory with fairseq's own `MMapIndexedDataset` and `Dictionary`, compares the
counts with the asset's materialization metadata, checks that every sequence ends with `</s>`,
that the line counts of the cleaned text agree, and that sampled sequences decode back, through
fairseq's GPT-2 decoder, to exactly the cleaned lines they came from.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np


def _sample_indices(count: int, samples: int, seed: int) -> list[int]:
    if count == 0:
        return []
    chosen = {0, count - 1}
    rng = random.Random(seed)
    while len(chosen) < min(samples, count):
        chosen.add(rng.randrange(count))
    return sorted(chosen)


def _lines_at(texts: list, wanted: list[int]) -> tuple[dict[int, str], int]:
    """The cleaned lines at the given global positions, and the total number of lines.

    A text released once its slice was proved against it (MM_RAW_FILES=release) comes as
    `{"released_lines": N}`: its lines are counted from there, and none of them is compared.
    """
    found: dict[int, str] = {}
    targets = iter(wanted)
    target = next(targets, None)
    position = 0
    for text in texts:
        if isinstance(text, dict):
            position += int(text["released_lines"])
            while target is not None and target < position:
                target = next(targets, None)
            continue
        with open(text, "rb") as handle:
            for raw in handle:
                if position == target:
                    found[position] = raw.rstrip(b"\n").decode("utf-8")
                    target = next(targets, None)
                position += 1
    return found, position


def judge_split(data_dir: Path, split: str, expected: dict, texts: list[str], samples: int,
                dictionary, bpe) -> list[str]:
    from fairseq.data.indexed_dataset import MMapIndexedDataset

    problems: list[str] = []
    dataset = MMapIndexedDataset(str(data_dir / split))
    sizes = dataset.sizes
    count, tokens = len(dataset), int(np.asarray(sizes, dtype=np.int64).sum())
    bin_path = data_dir / f"{split}.bin"
    indexed_bytes = tokens * np.dtype(dataset._index.dtype).itemsize
    if bin_path.stat().st_size != indexed_bytes:
        return [f"{split}.bin: {bin_path.stat().st_size:,} bytes, but fairseq's index describes "
                f"{indexed_bytes:,}: the pair does not match; materialize owt_fairseq_data again"]
    if count != expected["sequences"]:
        problems.append(f"{split}: fairseq reads {count} sequences, metadata says {expected['sequences']}")
    if tokens != expected["tokens"]:
        problems.append(f"{split}: fairseq reads {tokens} tokens, metadata says {expected['tokens']}")
    wanted = _sample_indices(count, samples, seed=len(split))
    lines, text_lines = _lines_at(texts, wanted)
    if text_lines != count:
        problems.append(f"{split}: cleaned text has {text_lines} lines, data has {count} sequences")
    for index in wanted:
        item = dataset[index]
        if int(item[-1]) != dictionary.eos():
            problems.append(f"{split}[{index}]: does not end with </s>")
            continue
        bpe_ids = dictionary.string(item[:-1]).split()
        decoded = bpe.decode([int(token) for token in bpe_ids])
        if index in lines and decoded != lines[index]:
            problems.append(f"{split}[{index}]: decodes to {decoded[:80]!r}, text has {lines[index][:80]!r}")
    return problems


def judge(extras: dict, log) -> list[str]:
    from fairseq.data import Dictionary
    from fairseq.data.encoders.gpt2_bpe_utils import get_encoder

    data_dir = Path(extras["data_dir"])
    bpe_dir = Path(extras["bpe_dir"])
    dictionary = Dictionary.load(str(data_dir / "dict.txt"))
    bpe = get_encoder(str(bpe_dir / "encoder.json"), str(bpe_dir / "vocab.bpe"))
    problems: list[str] = []
    if len(dictionary) != extras["dict_symbols"]:
        problems.append(f"dict.txt: {len(dictionary)} symbols, expected {extras['dict_symbols']}")
    for split, spec in extras["splits"].items():
        problems += judge_split(data_dir, split, spec["expected"], spec["texts"],
                                extras["samples"], dictionary, bpe)
        log(f"{split}: judged by fairseq")
    return problems


def main() -> None:
    from pipes_report import judge_through_pipes  # a sibling: this runs by path in .venv-fairseq

    judge_through_pipes(judge, could_not="could not read the data directory",
                        then="materialize owt_fairseq_data again",
                        counts=lambda extras: {"sampled_per_split": extras["samples"]})


if __name__ == "__main__":
    main()
