"""Archive caps: zip and xz bombs, a member header that understates its size, members that share
data, an extraction that cannot fit, and webdataset members over the cap; nothing half-written."""

import struct
import zipfile
from pathlib import Path

import pytest

from mm_assets.datasets.owt.archive import iter_documents, iter_xz_members
from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.fetch.crawl import DEFAULT_MAX_BYTES
from mm_assets.formats.archive_limits import (
    DEFAULT_MAX_MEMBER_BYTES,
    ArchiveLimitError,
    ArchiveLimits,
    require_free_space,
)
from mm_assets.formats.webdataset import iter_samples, member_offsets, open_shard, read_image
from mm_assets.formats.zip import ZipFormatError, extract_folder, read_member_checked
from mm_assets.samples.owt.mirror import write_slice
from mm_assets_tests.formats.archives import MIB, add_member, zeros

LOCAL_SIZE_AT, CENTRAL_SIZE_AT = 22, 24  # the uncompressed-size fields of the two zip headers


def test_the_image_member_cap_is_the_cc3m_image_byte_cap():
    assert DEFAULT_MAX_MEMBER_BYTES == DEFAULT_MAX_BYTES


def test_declared_sizes_are_judged_by_size_and_ratio():
    limits = ArchiveLimits(max_member_bytes=20 * MIB, max_text_member_bytes=100 * MIB, max_ratio=100)
    assert limits.refusal(300 * MIB, 305_000, text=False) == "unsafe_compression_ratio"
    assert limits.refusal(21 * MIB, 21 * MIB, text=False) == "too_large"
    assert limits.refusal(21 * MIB, 4 * MIB, text=True) is None  # text has its own cap
    assert limits.refusal(900_000, 100, text=False) is None  # under 1 MiB: too small to hurt
    assert limits.refusal(5 * MIB, 60_000, text=False) is None  # 87:1


def test_extraction_skips_and_counts_members_over_a_cap(tmp_path):
    path = tmp_path / "images.zip"
    add_member(path, "top/fine.jpg", [b"\xff\xd8 a small picture"])
    add_member(path, "top/bomb.jpg", zeros(40 * MIB))
    add_member(path, "top/big.jpg", [bytes(range(256)) * 4096 * 3], compress=False)  # 3 MiB stored
    done = extract_folder(path, "top", tmp_path / "out", limits=ArchiveLimits(max_member_bytes=2 * MIB))
    assert sorted(p.name for p in (tmp_path / "out" / "top").iterdir()) == ["fine.jpg"]
    assert done.skipped["unsafe_compression_ratio"] == 1 and done.skipped["too_large"] == 1
    assert "top/bomb.jpg" in done.skipped.examples["unsafe_compression_ratio"][0]
    again = extract_folder(path, "top", tmp_path / "out", limits=ArchiveLimits(max_member_bytes=2 * MIB))
    assert again.up_to_date and again.skipped.counts == done.skipped.counts  # the record keeps them


def _understated(path: Path, name: str, real_bytes: int, declared: int) -> None:
    """A member whose headers (local and central) declare `declared` bytes; it inflates to `real_bytes`."""
    add_member(path, name, zeros(real_bytes))
    data = bytearray(path.read_bytes())
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + LOCAL_SIZE_AT, declared)
    struct.pack_into("<I", data, central + CENTRAL_SIZE_AT, declared)
    path.write_bytes(bytes(data))


def test_a_header_that_understates_a_member_cannot_make_it_inflate(tmp_path):
    path = tmp_path / "lying.zip"
    _understated(path, "top/a.jpg", 50 * MIB, declared=1000)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("top/a.jpg").file_size == 1000  # passes the caps on what it declares
    with pytest.raises(ZipFormatError, match="member top/a.jpg: damaged"):
        extract_folder(path, "top", tmp_path / "out")
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name != ".archive"]
    assert written == [] and not (tmp_path / "out" / "top").exists()


def test_reading_stops_at_the_cap_whatever_the_member_declares(tmp_path):
    path = tmp_path / "honest.zip"
    add_member(path, "top/a.jpg", zeros(50 * MIB))
    received = []
    with zipfile.ZipFile(path) as archive, pytest.raises(ArchiveLimitError, match="inflated past") as err:
        read_member_checked(archive, archive.getinfo("top/a.jpg"), path.name, sink=received.append,
                            limits=ArchiveLimits(max_member_bytes=3 * MIB))
    assert "MM_ARCHIVE_MAX_MEMBER_BYTES" in str(err.value) and "top/a.jpg" in str(err.value)
    assert sum(map(len, received)) <= 3 * MIB


def test_members_that_share_data_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "overlap.zip"
    add_member(path, "top/a.jpg", [b"A" * 5000])
    add_member(path, "top/b.jpg", [b"B" * 5000])
    data = bytearray(path.read_bytes())
    second_entry = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    struct.pack_into("<I", data, second_entry + 42, 0)  # b's local header offset: a's
    path.write_bytes(bytes(data))
    with pytest.raises(ZipFormatError, match="overlap"):
        extract_folder(path, "top", tmp_path / "out")
    assert not any(p.is_file() and p.name != ".archive" for p in (tmp_path / "out").rglob("*"))


def test_an_extraction_larger_than_the_free_space_is_refused(tmp_path):
    import shutil

    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(ArchiveLimitError, match=f"declares {free + 10**9:,} bytes to extract, but only"):
        require_free_space(tmp_path / "not" / "made" / "yet", free + 10**9, "big.zip")
    require_free_space(tmp_path, 1000, "small.zip")


def _bomb_slice(tmp_path: Path, tail: bytes = b"") -> Path:
    path = tmp_path / "subsets" / "urlsf_subset03.tar"
    write_slice(path, 3, [[b"a fine document"], [bytes(30 * MIB)]])
    if tail:  # garbage after the xz stream: its index cannot be read, decoding must stop at the cap
        members = list(iter_xz_members(path))
        from mm_assets.samples.owt.mirror import _tar_bytes

        path.write_bytes(_tar_bytes([(m.name, m.data + (tail if i else b"")) for i, m in enumerate(members)]))
    return path


def test_an_xz_bomb_member_is_refused_naming_it_and_nothing_is_written(tmp_path):
    path = _bomb_slice(tmp_path)
    out = tmp_path / "clean.txt"
    with pytest.raises(ArchiveLimitError, match="urlsf_subset03-2_data.xz: refused .unsafe_compression_ratio.") as err:
        clean_slice(path, out, workers=1)
    assert "MM_ARCHIVE_MAX_RATIO" in str(err.value)
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))
    second = list(iter_xz_members(path))[1]
    with pytest.raises(ArchiveLimitError, match="too_large.*MM_ARCHIVE_MAX_TEXT_MEMBER_BYTES"):
        list(iter_documents(second, limits=ArchiveLimits(max_text_member_bytes=10 * MIB, max_ratio=10**6)))


def test_decoding_an_xz_member_stops_at_the_cap_when_its_index_cannot_be_read(tmp_path):
    path = _bomb_slice(tmp_path, tail=b"trailing garbage")
    second = list(iter_xz_members(path))[1]
    with pytest.raises(ArchiveLimitError, match="inflated past its cap while being decoded"):
        list(iter_documents(second, "urlsf_subset03.tar"))


def test_a_webdataset_member_over_the_cap_is_refused_naming_shard_and_member(tmp_path):
    shard = tmp_path / "00000.tar"
    with open_shard(shard) as writer:
        writer.add("000000001", {"jpg": b"\xff\xd8small", "txt": b"a caption"})
        writer.add("000000002", {"jpg": b"\xff\xd8" + bytes(2 * MIB), "txt": b"another"})
    assert [key for key, _ in iter_samples(shard)] == ["000000001", "000000002"]  # the default cap: 20 MB
    with pytest.raises(ArchiveLimitError, match="00000.tar: member 000000002.jpg: refused .too_large."):
        list(iter_samples(shard, max_member_bytes=MIB))
    with pytest.raises(ArchiveLimitError, match="000000002.jpg"):
        member_offsets(shard, max_member_bytes=MIB)
    with pytest.raises(ArchiveLimitError):
        read_image(shard, "000000001", max_member_bytes=MIB)


def test_a_zip_of_which_no_member_can_be_extracted_fails_before_writing(tmp_path):
    from mm_assets.formats.shape import NoRowsKeptError

    path = tmp_path / "images.zip"
    add_member(path, "top/bomb.jpg", zeros(40 * MIB))
    add_member(path, "elsewhere/a.jpg", [b"\xff\xd8 a picture in another folder"])
    with pytest.raises(NoRowsKeptError, match=r"images.zip: none of its 2 members can be extracted into top/ "
                                              r"\((outside_folder 1, unsafe_compression_ratio 1|unsafe_compression_"
                                              r"ratio 1, outside_folder 1)\)"):
        extract_folder(path, "top", tmp_path / "out")
    assert not (tmp_path / "out" / "top").exists()
