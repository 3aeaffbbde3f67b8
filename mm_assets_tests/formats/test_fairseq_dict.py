"""A label dictionary as fairseq-preprocess builds one without --srcdict (the recipe's label/dict.txt)."""

from mm_assets.formats.fairseq_dict import EOS, UNK, FairseqDictionary


def test_order_is_count_then_symbol_and_padding_reaches_a_multiple_of_eight():
    lines = ["neutral", "entailment", "contradiction", "entailment", "neutral", "zebra", "alpha"]
    dictionary = FairseqDictionary.build(lines)
    padding = tuple(f"madeupword{i:04d}" for i in range(7))
    assert dictionary.symbols[4:] == ("entailment", "neutral", "alpha", "contradiction", "zebra", *padding)
    assert len(dictionary) == 16 and len(FairseqDictionary.build(["a"] * 3 + ["b"] * 5)) == 8
    assert dictionary.dict_txt() == (b"entailment 2\nneutral 2\nalpha 1\ncontradiction 1\nzebra 1\n"
                                     + b"".join(b"%s 0\n" % p.encode() for p in padding))


def test_lines_are_encoded_with_eos_and_unknown_symbols_become_unk():
    dictionary = FairseqDictionary.build(["1", "0", "1"])
    assert dictionary.encode_line("1") == [4, EOS]
    assert dictionary.encode_line("0") == [5, EOS]
    assert dictionary.encode_line("2") == [UNK, EOS]
    assert dictionary.encode_line("</s>") == [EOS, EOS]  # a special keeps its own index
