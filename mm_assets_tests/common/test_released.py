"""Release records: a released file counts as present exactly while what stands for it does."""

import pytest

from mm_assets.common.released import covering_release, forget_release, is_present, read_release, release


def test_a_released_file_is_present_through_a_chain_of_outputs(tmp_path):
    raw, text, tokens = tmp_path / "raw" / "a.tar", tmp_path / "clean" / "a.txt", tmp_path / "bin" / "a.bin"
    for path, data in ((raw, b"raw"), (text, b"text"), (tokens, b"tokens")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    release(raw, size=3, sha256="r" * 64, outputs=[text])
    release(text, size=4, sha256="t" * 64, outputs=[tokens], facts={"lines": 1})
    assert not raw.exists() and not text.exists()
    assert covering_release(raw).sha256 == "r" * 64 and read_release(text).facts == {"lines": 1}
    assert is_present(raw) and is_present(text)
    tokens.unlink()  # the last output gone: everything released before it counts as missing
    assert not is_present(text) and not is_present(raw) and covering_release(raw) is None


def test_records_hold_relative_paths_so_a_moved_root_still_resolves(tmp_path):
    (tmp_path / "old" / "out").mkdir(parents=True)
    (tmp_path / "old" / "a.zip").write_bytes(b"zip")
    release(tmp_path / "old" / "a.zip", size=3, sha256="z" * 64, outputs=[tmp_path / "old" / "out"])
    (tmp_path / "old").rename(tmp_path / "new")
    assert covering_release(tmp_path / "new" / "a.zip") is not None


def test_release_refuses_without_its_outputs_and_keeps_the_file(tmp_path):
    raw = tmp_path / "a.tar"
    raw.write_bytes(b"raw")
    with pytest.raises(FileNotFoundError, match="cannot be released"):
        release(raw, size=3, sha256="r" * 64, outputs=[tmp_path / "missing.txt"])
    assert raw.is_file() and read_release(raw) is None


def test_a_file_fetched_again_is_no_longer_released(tmp_path):
    (tmp_path / "out").write_bytes(b"o")
    raw = tmp_path / "a.tar"
    raw.write_bytes(b"raw")
    release(raw, size=3, sha256="r" * 64, outputs=[tmp_path / "out"])
    raw.write_bytes(b"raw")
    assert covering_release(raw) is None  # a file on disk is verified as a file, not as released
    forget_release(raw)
    assert read_release(raw) is None
