from mm_assets.datasets.owt.clean_rule import CleanStats, clean_document


def clean(raw: bytes):
    stats = CleanStats()
    return clean_document(raw, stats), stats


def test_lines_split_like_text_mode_and_stripped():
    lines, stats = clean("  a  \r\nb\rc\n\n \t \nd\x0be\x0cf\x1cg\x85h\u2028i\n".encode())
    # \x0b, \x0c, \x1c, \x85, \u2028 do not end lines in text mode
    assert lines == ["a", "b", "c", "d\x0be\x0cf\x1cg\x85h\u2028i"]
    assert stats.lines_kept == 4
    assert stats.empty_lines_dropped == 2


def test_trailing_newline_is_no_extra_empty_line():
    assert clean(b"x\n")[1].empty_lines_dropped == 0
    assert clean(b"x\n\n")[1].empty_lines_dropped == 1
    assert clean(b"x")[0] == ["x"]


def test_invalid_utf8_dropped_and_counted():
    lines, stats = clean(b"caf\xc3\xa9 \xff\xfeok \xe2\x82 end\xf0\x9f\x98")
    assert lines == ["café ok  end"]
    assert stats.invalid_bytes_dropped == 2 + 2 + 3


def test_nul_removed_and_counted():
    lines, stats = clean(b"a\x00b\n\x00\x00\n")
    assert lines == ["ab"]
    assert stats.nul_removed == 3
    assert stats.empty_lines_dropped == 1


def test_unicode_whitespace_is_stripped_at_the_ends_only():
    lines, _ = clean("\u3000\u00a0x\u2003y\u00a0\n".encode())
    assert lines == ["x\u2003y"]


def test_counts_add_up():
    raw = b"one\n\ntwo\r\n"
    lines, stats = clean(raw)
    assert stats.bytes_in == len(raw) and stats.documents == 1
    total = CleanStats()
    total.add(stats)
    total.add(stats)
    assert total.lines_kept == 4 and total.documents == 2


def test_clean_documents_equals_the_rule_applied_one_document_at_a_time():
    """The batched cleaning that the pipeline runs gives exactly the per-document rule's lines and
    counts: on every edge-case document and on thousands of random documents made of the
    characters that matter (line ends, NULs, Unicode whitespace, invalid UTF-8, empty documents)."""
    import random

    from mm_assets.datasets.owt.clean_rule import clean_documents
    from mm_assets.samples.owt.mirror import edge_case_documents

    pieces = [b"a", b"b", b" ", b"\t", b"\n", b"\r", b"\r\n", b"\x00", "\u3000".encode(), b"\x0b",
              "\u00e9".encode(), "\u2028".encode(), "\x85".encode(), b"\xff", b"\xc3", b"\xe2\x82"]
    rng = random.Random(0)
    cases = [edge_case_documents(), [b""], [b"\r", b"\n"], [b"x\r", b"", b"\ny"]]
    cases += [[b"".join(rng.choices(pieces, k=rng.randint(0, 12))) for _ in range(rng.randint(0, 6))]
              for _ in range(5000)]
    for documents in cases:
        one_by_one, batched = CleanStats(), CleanStats()
        expected = [line for doc in documents for line in clean_document(doc, one_by_one)]
        assert clean_documents(documents, batched) == expected, documents
        assert batched == one_by_one, documents
