"""The data-root marker: created once, exclusively; a foreign root is refused naming the path."""

import json

import pytest

from mm_assets.common.data_root import (
    MARKER_NAME,
    DataRootError,
    check_data_root,
    create_marker,
    read_marker,
)


def test_marker_is_created_once_and_kept(tmp_path):
    first = create_marker(tmp_path / "root")
    second = create_marker(tmp_path / "root")
    assert first == second
    assert json.loads((tmp_path / "root" / MARKER_NAME).read_text())["id"] == first.id
    assert [p.name for p in (tmp_path / "root").iterdir()] == [MARKER_NAME]  # no temp file left


def test_a_new_instance_creates_the_marker(tmp_path):
    marker = check_data_root(tmp_path, None)
    assert read_marker(tmp_path) == marker


def test_the_same_root_passes_and_a_foreign_one_is_refused(tmp_path):
    ours = create_marker(tmp_path / "ours")
    assert check_data_root(tmp_path / "ours", ours) == ours
    create_marker(tmp_path / "theirs")
    with pytest.raises(DataRootError, match="holds the marker of another data root") as refused:
        check_data_root(tmp_path / "theirs", ours)
    assert str(tmp_path / "theirs") in str(refused.value) and ours.id in str(refused.value)


def test_an_empty_mount_point_is_refused_and_left_unmarked(tmp_path):
    ours = create_marker(tmp_path / "ours")
    (tmp_path / "mnt").mkdir()
    with pytest.raises(DataRootError, match="has no data-root marker"):
        check_data_root(tmp_path / "mnt", ours)
    assert read_marker(tmp_path / "mnt") is None  # a later mount over it shows the real marker


def test_a_damaged_marker_names_the_file(tmp_path):
    (tmp_path / MARKER_NAME).write_text("{not json")
    with pytest.raises(DataRootError, match=MARKER_NAME):
        read_marker(tmp_path)
