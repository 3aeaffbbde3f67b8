"""The VG concat rule on hand-made cases, and against a naive greedy that encodes every candidate."""

import random

from mm_assets.common.counts import Tally
from mm_assets.datasets.vg.concat import JOINER, ImagePhrases, encode_concat_batch, greedy_ranges, unique_phrases
from mm_assets.samples.caption_text import CaptionText
from mm_assets.text.captions import MAX_CAPTION_TOKENS


def _naive_concat(encoder, phrases):
    """The rule as written: append the next phrase while the whole joined text fits in 64 tokens."""
    texts, current = [], []
    for phrase in phrases:
        candidate = JOINER.join(current + [phrase])
        if current and encoder.bpe_lengths([candidate])[0] + 2 > MAX_CAPTION_TOKENS:
            texts.append(JOINER.join(current))
            current = [phrase]
        else:
            current.append(phrase)
    if current:
        texts.append(JOINER.join(current))
    return texts


def _concat(encoder, phrases, image_id=1):
    batch, counts = encode_concat_batch(encoder, [ImagePhrases(image_id, "vg/images/VG_100K/1.jpg", phrases)])
    return batch.column("caption").to_pylist(), batch.column("n_tokens").to_pylist(), counts


def test_greedy_ranges_by_lengths():
    # <s> + 21 + (1 + 21) + </s> = 45 fits; + (1 + 21) = 67 does not: the third phrase starts a text.
    assert greedy_ranges([21, 21, 21], [21, 21, 21], 1) == [(0, 2, 43), (2, 3, 21)]
    assert greedy_ranges([20, 20, 20], [20, 20, 20], 1) == [(0, 3, 62)]  # 64 exactly: fits
    # a phrase too long alone makes a text of its own; the next one does not join it
    assert greedy_ranges([5, 80, 5], [5, 80, 5], 1) == [(0, 1, 5), (1, 2, 80), (2, 3, 5)]
    assert greedy_ranges([], [], 1) == []
    # exactly 64 with <s> and </s> still fits
    assert greedy_ranges([30, 30], [31, 31], 1) == [(0, 2, 62)]


def test_duplicates_and_empty_phrases_are_dropped_and_counted():
    tally = Tally()
    kept = unique_phrases(["a dog", " a dog ", "", "   ", "A dog", "a dog", "a cat\x00"], tally)
    assert kept == ["a dog", "A dog", "a cat"]
    assert tally["dropped_duplicate_phrase"] == 2 and tally["dropped_empty_caption"] == 2
    assert tally["captions_with_nul"] == 1


def test_overflow_starts_the_next_text_and_loses_no_phrase(caption_encoder):
    phrases = [f"the {word} is red with a round top" for word in "ball apple cup sign hat car kite lamp boat".split()]
    captions, sizes, counts = _concat(caption_encoder, phrases)
    assert len(captions) > 1
    assert JOINER.join(captions) == JOINER.join(phrases)  # every phrase, in order
    assert all(size <= MAX_CAPTION_TOKENS for size in sizes)
    for text, following in zip(captions, captions[1:]):  # the next phrase really did not fit
        first_of_next = following.split(JOINER)[0]
        assert caption_encoder.bpe_lengths([text + JOINER + first_of_next])[0] + 2 > MAX_CAPTION_TOKENS
    assert counts["phrases_joined"] == len(phrases) and counts["single_phrases_truncated"] == 0


def test_a_phrase_too_long_alone_is_truncated_by_the_caption_rule(caption_encoder):
    long_phrase = " ".join(f"word{i}" for i in range(60))
    captions, sizes, counts = _concat(caption_encoder, ["a dog", long_phrase, "a cat"])
    assert captions == ["a dog", long_phrase, "a cat"]
    assert sizes[1] == MAX_CAPTION_TOKENS
    assert counts["single_phrases_truncated"] == 1 and counts["truncated_captions"] == 1


def test_the_rule_equals_a_naive_greedy_on_random_images(caption_encoder):
    rng = random.Random(3)
    text = CaptionText(3)
    odd = ["'s mine", "x\ny", "😀 face", "a\t b", "<|endoftext|>", "1,000 cars", "Ünï", "it's 9"]
    images = []
    for image_id in range(60):
        phrases = [rng.choice(odd) if rng.random() < 0.15 else text.vg_phrase()
                   for _ in range(rng.randint(1, 40))]
        if rng.random() < 0.1:
            phrases.append(" ".join(text.vg_phrase() for _ in range(14)))  # too long alone
        images.append(ImagePhrases(image_id, f"vg/images/VG_100K/{image_id}.jpg", unique_phrases(phrases, Tally())))
    batch, _ = encode_concat_batch(caption_encoder, images)
    expected = [(image.image_id, t) for image in images for t in _naive_concat(caption_encoder, image.phrases)]
    assert list(zip(batch.column("image_id").to_pylist(), batch.column("caption").to_pylist())) == expected
