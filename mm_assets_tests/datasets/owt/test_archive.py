"""Both tar levels read as tars, in archive order; broken input fails naming slice and member."""

import lzma
from pathlib import Path

import pytest

from mm_assets.datasets.owt.archive import OwtArchiveError, iter_documents, iter_xz_members
from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.samples.owt.mirror import write_slice


def _slice(tmp_path: Path, members) -> Path:
    path = tmp_path / "subsets" / "urlsf_subset03.tar"
    write_slice(path, 3, members)
    return path


def test_documents_come_in_archive_order_with_first_and_last_paragraphs(tmp_path):
    members = [[b"first doc\nlast line", b"second"], [b"third"]]
    path = _slice(tmp_path, members)
    docs = [data for m in iter_xz_members(path) for _, data in iter_documents(m)]
    assert docs == [b"first doc\nlast line", b"second", b"third"]
    out = tmp_path / "clean.txt"
    counts = clean_slice(path, out, workers=2)
    assert out.read_bytes() == b"first doc\nlast line\nsecond\nthird\n"
    assert counts["documents"] == 3 and counts["xz_members"] == 2 and counts["lines_kept"] == 4


@pytest.mark.parametrize("cut", ["inside_member", "at_member_boundary"])
def test_truncated_slice_names_slice_and_member_and_writes_nothing(tmp_path, cut):
    import os
    path = _slice(tmp_path, [[os.urandom(6000)], [os.urandom(6000)]])
    data = path.read_bytes()
    second_header = data.index(b"openwebtext/urlsf_subset03-2_data.xz")
    path.write_bytes(data[: second_header + 2000] if cut == "inside_member" else data[:second_header])
    out = tmp_path / "out" / "clean.txt"
    with pytest.raises(OwtArchiveError) as err:
        clean_slice(path, out, workers=1)
    assert "urlsf_subset03.tar" in str(err.value) and "member" in str(err.value)
    assert not out.exists() and not any(out.parent.glob(".tmp-*"))
    if cut == "at_member_boundary":  # the first member ends where the file does: named at that byte
        boundary = second_header - second_header % 512
        assert f"after member openwebtext/urlsf_subset03-1_data.xz: truncated: no end-of-archive marker at " \
               f"byte {boundary:,} (the file ends at byte {boundary:,})" in str(err.value)


def test_corrupt_xz_member_names_it(tmp_path):
    path = _slice(tmp_path, [[b"fine"], [b"will be corrupted " * 100]])
    data = bytearray(path.read_bytes())
    second = data.find(lzma.compress(b"")[:6], data.find(b"_data.xz") + 600)  # the 2nd xz header
    assert second > 0
    for i in range(second + 40, second + 80):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    out = tmp_path / "clean.txt"
    with pytest.raises(OwtArchiveError) as err:
        clean_slice(path, out, workers=2)
    assert "urlsf_subset03-2_data.xz" in str(err.value)
    assert not out.exists()


def test_not_a_tar_at_all(tmp_path):
    path = tmp_path / "urlsf_subset09.tar"
    path.write_bytes(b"<html>rate limited</html>" * 40)
    with pytest.raises(OwtArchiveError, match="urlsf_subset09.tar"):
        list(iter_xz_members(path))


def _custom_slice(tmp_path: Path, outer_entries, name="urlsf_subset04.tar") -> Path:
    """A slice built by hand: `outer_entries` is a list of (name, bytes) for the outer tar."""
    from mm_assets.samples.owt.mirror import _tar_bytes

    path = tmp_path / name
    path.write_bytes(_tar_bytes(outer_entries))
    return path


def test_multi_stream_member_is_read_like_xz_reads_it(tmp_path):
    from mm_assets.samples.owt.mirror import _tar_bytes

    inner = _tar_bytes([("a.txt", b"first stream doc\n"), ("b.txt", b"second\n")])
    half = len(inner) // 2  # two xz streams whose concatenated output is the inner tar
    member = lzma.compress(inner[:half]) + b"\0" * 4 + lzma.compress(inner[half:])
    path = _custom_slice(tmp_path, [("openwebtext/urlsf_subset04-1_data.xz", member)])
    out = tmp_path / "clean.txt"
    clean_slice(path, out, workers=1)
    assert out.read_bytes() == b"first stream doc\nsecond\n"


def test_garbage_after_an_xz_stream_is_an_error_naming_the_member(tmp_path):
    from mm_assets.samples.owt.mirror import _tar_bytes

    member = lzma.compress(_tar_bytes([("a.txt", b"doc\n")])) + b"GARBAGE!"
    path = _custom_slice(tmp_path, [("openwebtext/urlsf_subset04-1_data.xz", member)])
    with pytest.raises(OwtArchiveError, match=r"urlsf_subset04-1_data.xz: garbage after the last stream"):
        clean_slice(path, tmp_path / "clean.txt", workers=1)


def test_only_txt_documents_and_xz_members_are_read_the_rest_is_counted(tmp_path):
    from mm_assets.samples.owt.mirror import _tar_bytes

    inner = _tar_bytes([("0001.txt", b"kept\n"), ("image.jpg", b"\xff\xd8\xff not text"),
                        ("notes.md", b"# not a document\n"), ("0002.txt", b"also kept\n")])
    path = _custom_slice(tmp_path, [("openwebtext/README.md", b"about"),
                                    ("openwebtext/urlsf_subset04-1_data.xz", lzma.compress(inner)),
                                    ("openwebtext/license", b"text")])
    out = tmp_path / "clean.txt"
    counts = clean_slice(path, out, workers=2)
    assert out.read_bytes() == b"kept\nalso kept\n"
    assert counts["skipped_outer_members"] == 2 and counts["skipped_inner_members"] == 2
    skipped = counts["skipped_members"]
    assert skipped["outer .md"] == 1 and skipped["outer (no extension)"] == 1
    assert skipped["inner .jpg"] == 1 and skipped["inner .md"] == 1
    assert "urlsf_subset04-1_data.xz/image.jpg" in {key: examples for key, _, examples in skipped.rows()}["inner .jpg"]


def test_verify_slice_checks_framing_without_decoding(tmp_path):
    from mm_assets.datasets.owt.archive import verify_slice

    path = _slice(tmp_path, [[b"one"], [b"two"]])
    assert "2 .xz members" in verify_slice(path)
    data = path.read_bytes()
    second = data.index(b"openwebtext/urlsf_subset03-2_data.xz")
    path.write_bytes(data[: second + 512 + 40])  # cut inside the second member
    with pytest.raises(OwtArchiveError, match="urlsf_subset03-2_data.xz: truncated"):
        verify_slice(path)
