"""Zips: checked structure and CRCs, unsafe names never written, atomic and resumable extraction."""

import json
import random
import shutil
import zipfile

import pytest

from mm_assets.formats.json_stream import JsonFormatError
from mm_assets.formats.zip import (
    ZipFormatError,
    archive_identity,
    check_zip,
    extract_folder,
    extraction_record,
    iter_json_member,
    unsafe_member_reason,
    write_zip,
)
from mm_assets.samples.synthetic_images import small_jpeg
from mm_assets_tests.helpers import flip_byte_in_zip_member


def _images_zip(path, count=6, folder="VG_100K"):
    rng = random.Random(1)
    members = [(f"{folder}/", b"")] + [(f"{folder}/{i}.jpg", small_jpeg(rng)) for i in range(1, count + 1)]
    return write_zip(path, members, compress=lambda name: False), dict(members)


def test_check_zip_reads_structure_and_crcs(tmp_path):
    path, _ = _images_zip(tmp_path / "images.zip")
    assert "every CRC-32 checked" in check_zip(path)
    assert "CRC-32s checked at extraction" in check_zip(path, crc_limit_bytes=10)
    with pytest.raises(ZipFormatError, match="no member region_descriptions.json"):
        check_zip(path, required=("region_descriptions.json",))


def test_a_truncated_or_damaged_zip_is_refused_with_its_name(tmp_path):
    path, _ = _images_zip(tmp_path / "images.zip")
    whole = path.read_bytes()
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ZipFormatError, match="cut.zip: not a readable zip"):
        check_zip(tmp_path / "cut.zip")
    flip_byte_in_zip_member(path, "VG_100K/3.jpg")
    with pytest.raises(ZipFormatError, match="images.zip: member VG_100K/3.jpg: damaged"):
        check_zip(path)
    (tmp_path / "page.zip").write_bytes(b"<html>404 not found</html>")
    with pytest.raises(ZipFormatError, match="page.zip"):
        check_zip(tmp_path / "page.zip")


def test_unsafe_members_are_skipped_and_counted(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("VG_100K/1.jpg", b"ok")
        archive.writestr("VG_100K/../../escape.txt", b"no")
        archive.writestr("/VG_100K/abs.jpg", b"no")
        archive.writestr("VG_100K\\win.jpg", b"no")
        link = zipfile.ZipInfo("VG_100K/link.jpg")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("other/2.jpg", b"elsewhere")
    with zipfile.ZipFile(path) as archive:
        reasons = {info.filename: unsafe_member_reason(info) for info in archive.infolist()}
    assert reasons == {"VG_100K/1.jpg": None, "VG_100K/../../escape.txt": "parent_folder_in_name",
                       "/VG_100K/abs.jpg": "absolute_path", "VG_100K\\win.jpg": "backslash_or_nul_in_name",
                       "VG_100K/link.jpg": "symlink", "other/2.jpg": None}
    assert "4 unsafe member(s)" in check_zip(path)
    done = extract_folder(path, "VG_100K", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out" / "VG_100K").iterdir()) == ["1.jpg"]
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "escape.txt").exists()
    assert done.skipped.counts == {"unsafe_parent_folder_in_name": 1, "unsafe_absolute_path": 1,
                                   "unsafe_backslash_or_nul_in_name": 1, "unsafe_symlink": 1, "outside_folder": 1}


def test_extraction_is_atomic_resumable_and_done_once(tmp_path):
    path, members = _images_zip(tmp_path / "images.zip")
    out = tmp_path / "images"
    done = extract_folder(path, "VG_100K", out)
    assert done.files == 6 and not done.up_to_date
    final = out / "VG_100K"
    assert {p.name: p.read_bytes() for p in final.iterdir()} == {n.split("/")[1]: d for n, d in members.items() if d}
    assert json.loads(extraction_record(out, "VG_100K").read_text())["files"] == 6
    assert extract_folder(path, "VG_100K", out).up_to_date

    # Resume: a partial folder of the same archive keeps its finished files.
    shutil.rmtree(final)
    extraction_record(out, "VG_100K").unlink()
    partial = out / ".partial-VG_100K"
    partial.mkdir()
    (partial / ".archive").write_text(archive_identity(path))
    (partial / "1.jpg").write_bytes(members["VG_100K/1.jpg"])
    (partial / "2.jpg").write_bytes(members["VG_100K/2.jpg"])
    (partial / "3.jpg").write_bytes(b"cut")  # killed mid-file: the size differs, written again
    done = extract_folder(path, "VG_100K", out)
    assert done.kept_from_earlier_run == 2 and done.files == 6
    assert (final / "3.jpg").read_bytes() == members["VG_100K/3.jpg"]
    assert not partial.exists()


def test_a_damaged_member_leaves_the_old_folder_in_place(tmp_path):
    path, _ = _images_zip(tmp_path / "images.zip")
    out = tmp_path / "images"
    extract_folder(path, "VG_100K", out)
    before = sorted(p.name for p in (out / "VG_100K").iterdir())
    path2, _ = _images_zip(tmp_path / "images2.zip", count=8)
    flip_byte_in_zip_member(path2, "VG_100K/7.jpg")
    with pytest.raises(ZipFormatError, match="member VG_100K/7.jpg"):
        extract_folder(path2, "VG_100K", out)
    assert sorted(p.name for p in (out / "VG_100K").iterdir()) == before


def test_json_member_damage_names_the_zip_and_member(tmp_path):
    data = json.dumps([{"id": i, "regions": []} for i in range(50)]).encode()
    good = write_zip(tmp_path / "good.zip", [("r.json", data)])
    assert len(list(iter_json_member(good, "r.json", "item"))) == 50
    cut = write_zip(tmp_path / "cut.zip", [("r.json", data[:-40])])
    with pytest.raises(JsonFormatError, match="r.json in cut.zip: truncated"):
        list(iter_json_member(cut, "r.json", "item"))
    with pytest.raises(ZipFormatError, match="no member other.json"):
        list(iter_json_member(good, "other.json", "item"))
    bad = write_zip(tmp_path / "bad.zip", [("r.json", data)], compress=lambda name: False)
    flip_byte_in_zip_member(bad, "r.json")
    with pytest.raises((ZipFormatError, JsonFormatError), match="r.json in bad.zip"):
        list(iter_json_member(bad, "r.json", "item"))
