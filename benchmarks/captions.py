"""Caption encoding: the pipeline's batched exact encoder against the per-caption fairseq loop.

The captions have the real sources' shapes and proportions (`mm_assets/samples/caption_text.py`):
566,747 COCO captions (~10.5 words), 5,408,689 VG region phrases (~4.7 words) and 500,000 CC3M
alt-texts (~10 words), interleaved as the manifest holds them, 6,475,436 in all. The script prints
their statistics, then, on the same captions:

- the reference: the per-caption loop of an earlier implementation, fairseq's own `GPT2BPE.encode`
  + `Dictionary.encode_line` in `.venv-fairseq` (its loop time only, not its start-up), on the
  first `--reference-captions` captions (every source in proportion);
- the pipeline on those same captions (`clean_caption` + `CaptionEncoder.encode` in batches on
  `--workers` threads, as the pairs assets run it), and on all of them, also through the pairs
  table writer (Arrow + zstd parquet, what `vg_pairs` does after parsing).

The token ids of the reference and the pipeline must be identical. The ratio is printed.

Usage: python benchmarks/captions.py [--bpe DIR] [--captions 6475436] [--reference-captions 300000]
       [--workers 2] [--fairseq-python .venv-fairseq/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mm_assets.common.parallel import ordered_map  # noqa: E402
from mm_assets.datasets.pairs.table import ENCODE_BATCH_ROWS, PendingPairs, encode_pairs, write_pairs_table  # noqa: E402
from mm_assets.judge import JUDGE_DIR  # noqa: E402
from mm_assets.judge.recipe import default_fairseq_python  # noqa: E402
from mm_assets.samples.caption_text import CaptionText  # noqa: E402
from mm_assets.text.captions import CaptionEncoder, clean_caption  # noqa: E402
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles, fetch_gpt2_bpe  # noqa: E402

REAL_COUNTS = {"coco": 566_747, "vg": 5_408_689, "cc3m": 500_000}
WORD = re.compile(r"\S+")


def make_captions(total: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """`total` captions, sources interleaved in the real proportions (deterministic)."""
    text = CaptionText(seed)
    makers = {"coco": text.coco_caption, "vg": text.vg_phrase, "cc3m": text.cc3m_caption}
    weights = {source: count / sum(REAL_COUNTS.values()) for source, count in REAL_COUNTS.items()}
    captions, sources = [], []
    owed = dict.fromkeys(makers, 0.0)
    for _ in range(total):
        for source in owed:
            owed[source] += weights[source]
        source = max(owed, key=owed.get)
        owed[source] -= 1
        captions.append(makers[source]())
        sources.append(source)
    return captions, sources


def statistics(captions: list[str], sources: list[str], encoder: CaptionEncoder) -> str:
    total_bytes = sum(len(c.encode("utf-8")) for c in captions)
    words: dict[str, list[int]] = {}
    for caption, source in zip(captions, sources):
        words.setdefault(source, []).append(len(caption.split()))
    tokens = int(encoder.bpe_lengths([clean_caption(c) for c in captions[:200_000]]).sum())
    sample_bytes = sum(len(c.encode("utf-8")) for c in captions[:200_000])
    seen: set[str] = set()
    per_mb, size, new = [], 0, 0
    for caption in captions:
        for word in WORD.findall(caption):
            if word not in seen:
                seen.add(word)
                new += 1
        size += len(caption) + 1
        if size >= 1_000_000:
            per_mb.append(new)
            size = new = 0
    shape = ", ".join(f"{source} {len(w):,} captions, {sum(w) / len(w):.2f} words" for source, w in words.items())
    return (f"captions: {len(captions):,} ({shape}); {total_bytes / 1e6:.1f} MB; "
            f"{sample_bytes / tokens:.2f} bytes per GPT-2 token (first 200,000); {len(seen):,} word types; "
            f"new word types per MB: first {per_mb[0] if per_mb else new:,}, last {per_mb[-1] if per_mb else new:,}")


def ours(encoder: CaptionEncoder, captions: list[str], workers: int) -> tuple[float, list]:
    started = time.perf_counter()

    def batches():
        for start in range(0, len(captions), ENCODE_BATCH_ROWS):
            yield [text for text in (clean_caption(c) for c in captions[start:start + ENCODE_BATCH_ROWS]) if text]

    results = list(ordered_map(encoder.encode, batches(), workers=workers))
    return time.perf_counter() - started, results


def ours_through_table(encoder: CaptionEncoder, captions: list[str], workers: int, path: Path) -> float:
    def pending():
        for start in range(0, len(captions), ENCODE_BATCH_ROWS):
            batch = PendingPairs("vg")
            for offset, caption in enumerate(captions[start:start + ENCODE_BATCH_ROWS]):
                text = clean_caption(caption)
                if text:
                    batch.add(start + offset, "vg/images/VG_100K/1.jpg", text)
            yield batch

    started = time.perf_counter()
    write_pairs_table(path, pending(), partial(encode_pairs, encoder), workers=workers)
    return time.perf_counter() - started


def reference(captions: list[str], bpe_dir: Path, python: str, workdir: Path) -> tuple[float, list]:
    source, output = workdir / "captions.json", workdir / "reference.json"
    source.write_text(json.dumps(captions), encoding="utf-8")
    subprocess.run([python, str(JUDGE_DIR / "check_pairs.py"), "--encode", str(source), str(output),
                    "--bpe-dir", str(bpe_dir)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = json.loads(output.read_text())
    return result["seconds"], result["tokens"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bpe", default=os.environ.get("MM_GPT2_BPE_URL", str(REPO.parent / "shared" / "gpt2_bpe")))
    parser.add_argument("--captions", type=int, default=sum(REAL_COUNTS.values()))
    parser.add_argument("--reference-captions", type=int, default=300_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fairseq-python", default=default_fairseq_python())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        fetch_gpt2_bpe(args.bpe, workdir / "bpe")
        encoder = CaptionEncoder(Gpt2BpeFiles(workdir / "bpe"))
        started = time.perf_counter()
        captions, sources = make_captions(args.captions)
        print(f"generated in {time.perf_counter() - started:.1f} s")
        print(statistics(captions, sources, encoder))
        subset = captions[:args.reference_captions]

        ref_seconds, ref_tokens = reference(subset, workdir / "bpe", args.fairseq_python, workdir)
        our_seconds, batches = ours(encoder, subset, args.workers)
        ours_tokens = [batch.tokens_of(i) for batch in batches for i in range(len(batch.offsets) - 1)]
        identical = ours_tokens == ref_tokens
        print(f"same {len(subset):,} captions: reference (fairseq GPT2BPE + Dictionary.encode_line, one process, "
              f"per caption) {ref_seconds:.1f} s = {len(subset) / ref_seconds:,.0f} captions/s; pipeline "
              f"({args.workers} workers) {our_seconds:.2f} s = {len(subset) / our_seconds:,.0f} captions/s")
        print(f"token ids identical: {identical}")
        print(f"speed-up, reference / pipeline: {ref_seconds / our_seconds:.1f}x")
        full_seconds, _ = ours(encoder, captions, args.workers)
        table_seconds = ours_through_table(encoder, captions, args.workers, workdir / "pairs.parquet")
        print(f"all {len(captions):,} captions, {args.workers} workers: encoding {full_seconds:.1f} s "
              f"({len(captions) / full_seconds:,.0f} captions/s); encoding + pairs table (Arrow, zstd parquet) "
              f"{table_seconds:.1f} s; the reference loop would take about "
              f"{ref_seconds * len(captions) / len(subset) / 60:.0f} min")
        if not identical:
            sys.exit("token ids differ from fairseq's")


if __name__ == "__main__":
    main()
