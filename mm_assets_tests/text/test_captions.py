"""The caption rule: cleaning, truncation, and ids equal to fairseq's own encoder + Dictionary."""

import random

import numpy as np
import pytest

from mm_assets.common.counts import Tally
from mm_assets.formats.json_stream import INVALID_TEXT_MARK
from mm_assets.samples.caption_text import CaptionText
from mm_assets.text.captions import MAX_BPE_TOKENS, clean_caption, joins_exactly
from mm_assets.text.gpt2_bpe import BOS, EOS
from mm_assets_tests.helpers import fairseq_caption_tokens

TRICKY = [
    "  A man riding a wave on top of a surfboard.  ",
    "line one\nline two",
    "a\n\nb",
    "a \n b",
    "a\r\nb",
    "a\rb",
    "tab\tinside\t",
    "\t lead",
    "café naïve 東京 😀 emoji 👩‍👩‍👧 🏳️‍🌈",
    "<|endoftext|> is plain text <|endoftext|>",
    "x " * 80,
    "word " * 61 + "end",  # exactly at the limit: 62 BPE tokens
    "word " * 62 + "end",  # one over
    "it's 's 'll",
    "'s start",
    "\u2028sep\u2029 and \x85next",
    "\x1cA\x1d",
    "1234567890 " * 10,
    "ǅ ῼ \U0001F600\U0001F3FD",
    "\u0378x\U000E01EF\U00031350 new letters",  # code points newer than tiktoken's Unicode tables
    "a\u3000b\u00a0c",
    "x\u200bz",
    "\u0301combining first",
    "Ünïcödé ÇÀPS and lower",
]


def _tokens_alone(encoder, text):
    return encoder.encode([text]).tokens_of(0)


def test_clean_caption_strips_and_counts_what_it_removes():
    tally = Tally()
    assert clean_caption("  A cat.\n", tally) == "A cat."
    assert clean_caption("a\x00b", tally) == "ab"
    assert clean_caption("a " + INVALID_TEXT_MARK + "b", tally) == "a b"
    assert clean_caption("x\ud800y", tally) == "xy"
    assert clean_caption(" \t\n ", tally) == ""
    assert clean_caption("\x00", tally) == ""
    assert clean_caption("Inner\n  kept ", tally) == "Inner\n  kept"
    assert clean_caption("KEEP Case", tally) == "KEEP Case"
    assert tally.counts == {"captions_with_nul": 2, "captions_with_invalid_text": 2, "dropped_empty_caption": 2}


def test_which_texts_join_exactly():
    assert joins_exactly("a b") and joins_exactly(" a") and joins_exactly("\ta")
    assert not joins_exactly("a\nb") and not joins_exactly("a ") and not joins_exactly("  a")
    assert not joins_exactly("")


def test_framing_and_truncation(caption_encoder):
    encoded = caption_encoder.encode(["word " * 61 + "end", "word " * 62 + "end", "word " * 199 + "w", "a"])
    sizes = encoded.n_tokens.tolist()
    assert sizes == [64, 64, 64, 3]
    assert encoded.bpe_lengths.tolist() == [62, 63, 200, 1]
    assert encoded.truncated == 2
    for index in range(4):
        tokens = encoded.tokens_of(index)
        assert tokens[0] == BOS and tokens[-1] == EOS and BOS not in tokens[1:-1] and EOS not in tokens[1:-1]
    full = caption_encoder.encode(["word " * 199 + "w"]).values
    # The truncated caption keeps its first 62 BPE tokens, then </s>.
    untruncated = caption_encoder.encoder.lookup[caption_encoder.encoder.encoding.encode_ordinary("word " * 199 + "w")]
    assert full[1:-1].tolist() == untruncated[:MAX_BPE_TOKENS].tolist()


def test_a_batch_gives_each_caption_what_it_gets_alone(caption_encoder):
    """Joining into one block must not change a caption's ids: mixed fast and alone-encoded texts."""
    rng = random.Random(5)
    text = CaptionText(5)
    captions = [clean_caption(c) for c in TRICKY] + [text.coco_caption() for _ in range(200)]
    captions += [rng.choice(["", "", " ", "  ", "\t ", "\u3000\u3000"]) + text.vg_phrase()
                 + rng.choice(["", "", "\nsecond line", " 😀", "\t\tx", " ", "\u2028"]) for _ in range(300)]
    rng.shuffle(captions)
    batch = caption_encoder.encode(captions)
    for index, caption in enumerate(captions):
        assert batch.tokens_of(index) == _tokens_alone(caption_encoder, caption), caption
    assert batch.offsets[-1] == batch.values.size
    assert np.array_equal(np.diff(batch.offsets), batch.n_tokens)


def test_an_empty_caption_is_refused(caption_encoder):
    with pytest.raises(ValueError, match="empty"):
        caption_encoder.encode(["a", ""])


@pytest.mark.e2e
def test_ids_equal_fairseqs_encoder_and_dictionary(caption_encoder, bpe_dir, fairseq_python, tmp_path):
    """Hard cases and thousands of realistic captions, against fairseq's GPT2BPE + encode_line."""
    text = CaptionText(11)
    rng = random.Random(11)
    soup = "".join(chr(c) for c in range(0x20, 0x3000) if not 0xD800 <= c <= 0xDFFF)
    captions = TRICKY + [text.coco_caption() for _ in range(1500)] + [text.vg_phrase() for _ in range(1500)]
    captions += [text.cc3m_caption() for _ in range(1000)]
    captions += ["".join(rng.choice(soup) for _ in range(rng.randint(1, 40))) for _ in range(1000)]
    cleaned = [c for c in (clean_caption(c) for c in captions) if c]
    ours = caption_encoder.encode(cleaned)
    theirs = fairseq_caption_tokens(cleaned, bpe_dir, fairseq_python, tmp_path)
    mismatches = [(c, ours.tokens_of(i), theirs[i]) for i, c in enumerate(cleaned) if ours.tokens_of(i) != theirs[i]]
    assert not mismatches, mismatches[:3]
    assert ours.truncated >= 3  # the long hard cases were truncated, as fairseq's framing does
