"""Token ids back to text: what the contact sheet shows is what the encoder wrote."""

import pytest

from mm_assets.text.decode import TokenDecoder
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles


@pytest.fixture(scope="module")
def decoder(bpe_dir):
    return TokenDecoder(Gpt2BpeFiles(bpe_dir))


@pytest.mark.parametrize("caption", ["A dog on a sofa.", "région café, 東京 ✓", "  inner   spaces  kept",
                                     "<|endoftext|> as text"])
def test_decoding_gives_back_the_encoded_caption_with_its_specials(decoder, caption_encoder, caption):
    text = caption.strip()
    tokens = caption_encoder.encode([text]).tokens_of(0)
    assert decoder.decode(tokens) == f"<s>{text}</s>"


def test_a_cut_inside_a_character_shows_a_replacement_character(decoder, caption_encoder):
    tokens = caption_encoder.encode(["東" * 40]).tokens_of(0)
    assert len(tokens) == 64
    text = decoder.decode(tokens)
    assert text.startswith("<s>東") and text.endswith("</s>")
    body = text[len("<s>"):-len("</s>")]
    kept = body.rstrip("\ufffd")
    assert set(kept) == {"東"} and len(body) - len(kept) <= 2  # a partial character at most, shown as such


def test_unknown_indices_are_named_not_dropped(decoder):
    assert decoder.decode([0, 3, decoder.size + 5, 2]) == f"<s><unk><{decoder.size + 5}?></s>"
