"""The fast in-memory tar reader gives exactly what `tarfile` gives, and refuses what it refuses."""

import io
import tarfile

import pytest

from mm_assets.formats.tar import TarFormatError, iter_files, read_entries


def _archive(fmt, members) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "elsewhere.txt"
            else:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return buffer.getvalue()


MEMBERS = [("0001.txt", "file", b"first\n"), ("dir", "dir", b""), ("dir/image.jpg", "file", b"\xff\xd8"),
           ("link", "symlink", b""), ("d" * 120 + "/long name \u00e9.txt", "file", b"long"),
           ("empty.txt", "file", b""), ("last.txt", "file", b"x" * 1000)]


def _tarfile_view(data: bytes):
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [(i.name, i.isfile(), archive.extractfile(i).read() if i.isfile() else b"") for i in archive]


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
def test_same_members_names_and_bytes_as_tarfile(fmt):
    members = MEMBERS if fmt != tarfile.USTAR_FORMAT else [m for m in MEMBERS if len(m[0]) < 100 or "/" in m[0][:155]]
    data = _archive(fmt, members)
    ours = [(entry.name, entry.kind == "file", blob) for entry, blob in iter_files(data)]
    assert ours == _tarfile_view(data)


def test_truncated_archives_and_missing_end_marker_are_refused():
    data = _archive(tarfile.GNU_FORMAT, MEMBERS)
    last = read_entries(data)[-1]
    end_marker = last.offset + 1024  # the last member's 1000 bytes, padded to a block
    for cut in (100, 700, last.offset + 500, end_marker + 512):
        with pytest.raises(TarFormatError, match="truncated"):
            read_entries(data[:cut])


def test_a_damaged_header_is_refused_like_tarfile_refuses_it():
    data = bytearray(_archive(tarfile.GNU_FORMAT, MEMBERS))
    data[10] ^= 0x01  # inside the first header's name: its checksum no longer matches
    with pytest.raises(TarFormatError):
        read_entries(bytes(data))
