"""fairseq's `sentence_prediction` task loads a `<TASK>-bin` folder, in `.venv-fairseq`.

Two uses, both through fairseq's own task code (`SentencePredictionTask.setup_task` then
`load_dataset` per split, with the recipe's `init_token` 0 and `separator_token` 2):

- the asset check of `glue_fairseq_data`, through Dagster Pipes: every split loads with the
  examples the materialization reported, every item starts with `<s>`, ends with `</s>`, holds the
  separator for a sentence pair, has a target of the right kind for a labelled split (a class
  below num_classes, or a score in [0, 1]), and sampled items decode, through fairseq's GPT-2
  decoder, back to the hub's text;
- `--dump`: every item of every split (id, tokens, target) as JSON, which the tests compare with
  the project's own loader.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

INIT_TOKEN, SEPARATOR_TOKEN = 0, 2


def load_task(data_dir: str, num_classes: int, regression: bool):
    from fairseq.tasks.sentence_prediction import SentencePredictionConfig, SentencePredictionTask

    cfg = SentencePredictionConfig(
        data=data_dir, num_classes=num_classes, init_token=INIT_TOKEN, separator_token=SEPARATOR_TOKEN,
        regression_target=regression, classification_head_name="sentence_classification_head",
        seed=1, max_positions=100_000, no_shuffle=False,
    )
    return SentencePredictionTask.setup_task(cfg)


def items(task, split: str):
    """(id, token list, target or None) for every item of the split, in id order."""
    dataset = task.load_dataset(split)
    found = []
    for position in range(len(dataset)):
        item = dataset[position]
        target = item.get("target")
        if target is not None:
            target = [float(v) for v in target] if task.cfg.regression_target else int(target)
        found.append((int(item["id"]), [int(t) for t in item["net_input.src_tokens"]], target))
    return sorted(found, key=lambda entry: entry[0])


def judge(extras: dict, log) -> list[str]:
    from fairseq.data.encoders.gpt2_bpe_utils import get_encoder

    task = load_task(extras["data_dir"], extras["num_classes"], extras["regression"])
    bpe = get_encoder(str(Path(extras["bpe_dir"]) / "encoder.json"), str(Path(extras["bpe_dir"]) / "vocab.bpe"))
    dictionary = task.source_dictionary
    pair = extras["inputs"] == 2
    problems: list[str] = []
    for split, spec in extras["splits"].items():
        entries = items(task, split)
        if len(entries) != spec["examples"]:
            problems.append(f"{split}: fairseq loads {len(entries)} examples, the metadata says {spec['examples']}")
        for ident, tokens, target in entries:
            if tokens[0] != INIT_TOKEN or tokens[-1] != 2 or (pair and tokens.count(2) < 3):
                problems.append(f"{split}[{ident}]: tokens are not <s> ... </s>{' </s> ... </s>' if pair else ''}")
                break
            if spec["labelled"]:
                if target is None:
                    problems.append(f"{split}: no target for a labelled split")
                    break
                bad = (not 0.0 <= target[0] <= 1.0) if extras["regression"] else not 0 <= target < extras["num_classes"]
                if bad:
                    problems.append(f"{split}[{ident}]: target {target} out of range")
                    break
        by_id = {ident: tokens for ident, tokens, _ in entries}
        for row, texts in spec["samples"].items():
            tokens = by_id.get(int(row))
            if tokens is None:
                problems.append(f"{split}: no example {row}")
                continue
            decoded = []
            for part in _split_inputs(tokens, pair):
                decoded.append(bpe.decode([int(t) for t in dictionary.string(part).split()]) if part else "")
            expected = [text.strip() for text in texts]
            if decoded != expected:
                problems.append(f"{split}[{row}]: decodes to {decoded!r}, the hub's text is {expected!r}")
        log(f"{split}: {len(entries)} examples judged by fairseq")
    return problems


def _split_inputs(tokens: list[int], pair: bool) -> list[list[int]]:
    """input0 (and input1) of `<s> a... </s> [</s> b... </s>]`, without their `</s>`."""
    body = tokens[1:]
    if not pair:
        return [body[:-1]]
    first_end = body.index(2)
    return [body[:first_end], body[first_end + 2:-1]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", metavar="DATA_DIR")
    parser.add_argument("--num-classes", type=int, default=2)
    parser.add_argument("--regression", action="store_true")
    parser.add_argument("--splits", nargs="*", default=[])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.dump:
        task = load_task(args.dump, args.num_classes, args.regression)
        dump = {split: items(task, split) for split in args.splits}
        args.out.write_text(json.dumps(dump))
        return
    from pipes_report import judge_through_pipes  # a sibling: this runs by path in .venv-fairseq

    judge_through_pipes(judge, could_not="could not load the task",
                        then="materialize glue_fairseq_data for partition {partition} again")


if __name__ == "__main__":
    sys.exit(main())
