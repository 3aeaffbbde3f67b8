"""The progress journal: what was appended survives a reopen; a torn last record is cut off; a
journal of another identity is not mixed in."""

from mm_assets.common.journal import Journal


def test_records_survive_and_a_torn_tail_is_cut(tmp_path):
    path = tmp_path / "j"
    with Journal.open(path, {"shard": "00001"}) as journal:
        journal.append({"row_id": 1, "status": "ok"}, b"image one")
        journal.append({"row_id": 2, "status": "http_error"})
        journal.append({"row_id": 3, "status": "ok"}, b"image three" * 100)
    whole = path.stat().st_size
    with open(path, "ab") as handle:  # a kill in the middle of the next record
        handle.write(b"REC1\x10\x00\x00\x00partial")
    with Journal.open(path, {"shard": "00001"}) as journal:
        assert [entry.header["row_id"] for entry in journal.entries] == [1, 2, 3]
        assert journal.read_body(journal.entries[0]) == b"image one"
        assert journal.read_body(journal.entries[2]) == b"image three" * 100
        assert path.stat().st_size == whole
        journal.append({"row_id": 4, "status": "ok"}, b"four")
    with Journal.open(path, {"shard": "00001"}) as journal:
        assert [journal.read_body(entry) for entry in journal.entries] == [b"image one", b"", b"image three" * 100, b"four"]


def test_a_damaged_record_ends_the_journal_there(tmp_path):
    path = tmp_path / "j"
    with Journal.open(path, {"v": 1}) as journal:
        first = journal.append({"row_id": 1}, b"aaaa")
        journal.append({"row_id": 2}, b"bbbb")
    data = bytearray(path.read_bytes())
    data[first.offset] ^= 0xFF  # the first body's bytes no longer match its CRC
    path.write_bytes(bytes(data))
    with Journal.open(path, {"v": 1}) as journal:
        assert journal.entries == []


def test_another_identity_starts_afresh(tmp_path):
    path = tmp_path / "j"
    with Journal.open(path, {"rules": {"min_side": 32}}) as journal:
        journal.append({"row_id": 1}, b"x")
    with Journal.open(path, {"rules": {"min_side": 64}}) as journal:
        assert journal.entries == []
    journal.remove()
    assert not path.exists()
