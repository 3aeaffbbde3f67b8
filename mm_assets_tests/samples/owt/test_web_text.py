import itertools

import pytest

from mm_assets.samples.owt.web_text import WebLikeText, corpus_statistics, harvest
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles, load_encoding

SAMPLE_BYTES = 4_000_000
pytestmark = pytest.mark.slow  # the benchmark's corpus: its first use harvests the installed packages' text


def documents(seed: int, total_bytes: int):
    text, produced = WebLikeText(seed), 0
    while produced < total_bytes:
        document = text.document()
        produced += len(document)
        yield document


@pytest.fixture(scope="module")
def sample_statistics(bpe_dir):
    encoding = load_encoding(Gpt2BpeFiles(bpe_dir))
    return corpus_statistics(documents(1, SAMPLE_BYTES), encoding)


def test_same_seed_same_bytes_and_different_seeds_differ():
    first = list(itertools.islice(documents(7, 10**9), 50))
    assert list(itertools.islice(documents(7, 10**9), 50)) == first
    assert list(itertools.islice(documents(8, 10**9), 50)) != first


def test_documents_are_utf8_text_ending_in_one_newline():
    docs = list(itertools.islice(documents(3, 10**9), 300))
    for document in docs:
        text = document.decode("utf-8")  # raises if not UTF-8
        assert text.endswith("\n") and text.strip()
    corpus = b"".join(docs)
    assert any(byte >= 0x80 for byte in corpus)  # accented names, curly quotes, dashes
    for marker in (b"http", b"@", b"$", b"#"):
        assert marker in corpus


def test_the_sentence_pool_is_real_prose():
    pool = harvest()
    assert len(pool["sentences"]) > 2000 and len(pool["nouns"]) > 300
    for sentence in pool["sentences"][:: len(pool["sentences"]) // 50]:
        assert sentence[0].isupper() or sentence[0] in "\"'(", sentence
        assert ">>>" not in sentence and "==" not in sentence and "()" not in sentence


def test_bytes_per_token_like_web_text(sample_statistics):
    assert sample_statistics["bytes"] >= SAMPLE_BYTES
    assert 4.2 <= sample_statistics["bytes_per_token"] <= 4.6, sample_statistics["bytes_per_token"]


def test_vocabulary_keeps_growing(sample_statistics):
    new_per_mb = sample_statistics["new_word_types_per_mb"]
    assert len(new_per_mb) == SAMPLE_BYTES // 1_000_000
    # Real web text still brings >10,000 new whitespace-separated types in its 4th MB.
    assert new_per_mb[-1] > 8_000, new_per_mb
    assert sample_statistics["word_types"] > 50_000


def test_corpus_statistics_counts():
    class OneTokenPerCharacter:
        def encode_ordinary(self, text: str) -> list[str]:
            return list(text)

    docs = [b"a b\n", b"b c\n", b"d\n"]
    stats = corpus_statistics(docs, OneTokenPerCharacter(), mb=4)
    assert stats["bytes"] == 10 and stats["tokens"] == 10 and stats["bytes_per_token"] == 1.0
    assert stats["word_types"] == 4 and stats["new_word_types_per_mb"] == [2, 1]
    sampled = corpus_statistics(docs, OneTokenPerCharacter(), mb=4, tokenize_every=2)
    assert sampled["tokenized_bytes"] == 4 and sampled["tokens"] == 4
