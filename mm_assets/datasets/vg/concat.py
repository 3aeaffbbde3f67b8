"""VG concat: an image's region phrases joined greedily with " and " into texts of at most 64
tokens, no phrase lost (docs/data-rules.md, "VG concat").

Per image: its phrases in file order, cleaned by the caption rule, empties dropped, duplicates
(the same cleaned text) dropped after their first occurrence. The next phrase is appended while
the encoding of the joined text (`<s>` + BPE + `</s>`) stays within 64 tokens; a phrase that does
not fit starts the next text. A phrase too long on its own makes a text alone, truncated by the
caption rule.

Lengths without encoding every candidate: for stripped phrases P1..Pk, GPT-2's pre-tokenizer
splits "P1 and P2 ... and Pk" into the pieces of P1, then for each later Pi the piece " and"
and the pieces of " Pi" (a piece never ends in a space, and each Pi starts and ends with a
non-space). So the BPE length of the joined text is len(P1) + sum(len(" and") + len(" Pi")),
from two batched encodings of the phrases. The joined texts are then encoded as a whole, by the
caption rule, and each must have the length predicted (a mismatch is an error, never written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mm_assets.common.counts import Tally
from mm_assets.datasets.pairs.table import PendingPairs, pairs_batch
from mm_assets.text.captions import MAX_CAPTION_TOKENS, CaptionEncoder, clean_caption

JOINER = " and "
SOURCE = "vg_concat"


def unique_phrases(phrases: Sequence[str], tally: Tally) -> list[str]:
    """Cleaned phrases, empties dropped (by `clean_caption`), repeats dropped after the first."""
    kept: list[str] = []
    seen: set[str] = set()
    for phrase in phrases:
        text = clean_caption(phrase, tally)
        if not text:
            continue
        if text in seen:
            tally.add("dropped_duplicate_phrase", example=text[:60])
            continue
        seen.add(text)
        kept.append(text)
    return kept


def greedy_ranges(first: Sequence[int], rest: Sequence[int], joiner: int,
                  max_tokens: int = MAX_CAPTION_TOKENS) -> list[tuple[int, int, int]]:
    """(start, end, BPE length) of each joined text over phrases [start, end).

    `first[i]`: BPE tokens of phrase i opening a text; `rest[i]`: of " " + phrase i after the
    joiner; `joiner`: BPE tokens of " and". A text's length counts `<s>` and `</s>`.
    """
    ranges = []
    start, length = 0, int(first[0]) if len(first) else 0
    for index in range(1, len(first)):
        grown = length + joiner + int(rest[index])
        if grown + 2 <= max_tokens:
            length = grown
        else:
            ranges.append((start, index, length))
            start, length = index, int(first[index])
    if len(first):
        ranges.append((start, len(first), length))
    return ranges


@dataclass(frozen=True)
class ImagePhrases:
    image_id: int
    image: str
    phrases: list[str]  # unique, cleaned


def encode_concat_batch(encoder: CaptionEncoder, images: Sequence[ImagePhrases]):
    """The `vg_concat` record batch of a batch of images, and its counts."""
    phrases = [phrase for image in images for phrase in image.phrases]
    first = encoder.bpe_lengths(phrases)
    rest = encoder.bpe_lengths([" " + phrase for phrase in phrases])
    joiner = int(encoder.bpe_lengths([JOINER.rstrip()])[0])
    pending = PendingPairs(SOURCE)
    predicted = []
    single_truncated = 0
    offset = 0
    for image in images:
        count = len(image.phrases)
        for start, end, length in greedy_ranges(first[offset:offset + count], rest[offset:offset + count], joiner):
            pending.add(image.image_id, image.image, JOINER.join(image.phrases[start:end]))
            predicted.append(length)
            single_truncated += int(length > MAX_CAPTION_TOKENS - 2)
        offset += count
    encoded = encoder.encode(pending.captions)
    wrong = np.flatnonzero(encoded.bpe_lengths != np.asarray(predicted, dtype=np.int32))
    if wrong.size:
        index = int(wrong[0])
        raise AssertionError(
            f"VG concat: the text {pending.captions[index][:80]!r} of image {pending.image_ids[index]} encodes to "
            f"{encoded.bpe_lengths[index]} BPE tokens, {predicted[index]} were predicted; nothing was written")
    batch, counts = pairs_batch(pending, encoded)
    counts.update(phrases_joined=len(phrases), single_phrases_truncated=single_truncated)
    return batch, counts
