"""fairseq re-encodes captions, in `.venv-fairseq`: the reference for every pairs table.

Two ways in:
- through Dagster Pipes (an asset check): the extras carry a sample of a pairs table's rows
  (`caption`, `tokens`); each caption is encoded again by fairseq's own `GPT2BPE` and
  `Dictionary.encode_line`, framed by the caption rule (`<s>`, at most 62 BPE tokens, `</s>`), and
  must give the same ids;
- as a command (`--encode captions.json out.json --bpe-dir DIR`), the per-caption loop an earlier
  implementation ran, for the tests and the benchmark: each caption is stripped first, as the rule
  says, and the loop's own time is reported.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

MAX_CAPTION_TOKENS = 64


def load_fairseq(bpe_dir: Path):
    """fairseq's GPT-2 BPE and its Dictionary over the same files the pipeline used."""
    from fairseq.data import Dictionary
    from fairseq.data.encoders.gpt2_bpe import GPT2BPE, GPT2BPEConfig

    bpe = GPT2BPE(GPT2BPEConfig(gpt2_encoder_json=str(bpe_dir / "encoder.json"),
                                gpt2_vocab_bpe=str(bpe_dir / "vocab.bpe")))
    return bpe, Dictionary.load(str(bpe_dir / "dict.txt"))


def fairseq_caption_tokens(text: str, bpe, dictionary) -> list[int]:
    """`<s>`, the first 62 fairseq indices of the text's GPT-2 BPE, `</s>`."""
    ids = dictionary.encode_line(bpe.encode(text), add_if_not_exist=False, append_eos=False).tolist()
    return [dictionary.bos(), *ids[:MAX_CAPTION_TOKENS - 2], dictionary.eos()]


def judge(extras: dict, log) -> list[str]:
    rows = extras["rows"]
    if not rows:
        return ["no rows to re-encode: the table is empty, so fairseq could confirm nothing"]
    bpe, dictionary = load_fairseq(Path(extras["bpe_dir"]))
    problems = judge_rows(rows, bpe, dictionary)
    log(f"fairseq re-encoded {len(rows)} captions")
    return problems


def judge_rows(rows: list[dict], bpe, dictionary) -> list[str]:
    problems = []
    for row in rows:
        expected = fairseq_caption_tokens(row["caption"], bpe, dictionary)
        if list(row["tokens"]) != expected:
            problems.append(f"row {row['row']} ({row['caption'][:60]!r}): tokens {list(row['tokens'])[:12]}... "
                            f"but fairseq gives {expected[:12]}...")
    return problems


def main_pipes() -> None:
    from pipes_report import judge_through_pipes  # a sibling: this runs by path in .venv-fairseq

    judge_through_pipes(judge, could_not="could not encode the sample",
                        counts=lambda extras: {"captions_reencoded": len(extras["rows"])})


def main_encode(source: Path, output: Path, bpe_dir: Path) -> None:
    captions = json.loads(source.read_text(encoding="utf-8"))
    bpe, dictionary = load_fairseq(bpe_dir)
    started = time.perf_counter()
    tokens = [fairseq_caption_tokens(caption.strip(), bpe, dictionary) for caption in captions]
    seconds = time.perf_counter() - started
    output.write_text(json.dumps({"tokens": tokens, "seconds": seconds}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encode", nargs=2, type=Path, metavar=("CAPTIONS_JSON", "OUT_JSON"))
    parser.add_argument("--bpe-dir", type=Path)
    args = parser.parse_args()
    if args.encode:
        main_encode(*args.encode, args.bpe_dir)
    else:
        main_pipes()
