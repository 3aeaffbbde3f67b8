"""Records become a typed metadata table (the UI sorts and filters it); a tally is one such table."""

import dagster as dg
import pytest

from mm_assets.common.counts import Tally
from mm_assets.defs.shared.metadata import records_table, tally_table


def test_records_become_a_typed_table():
    table = records_table({"split": str, "examples": int, "share_percent": float}, [("train", 9, 75.0), ("valid", 3, 25.0)])
    assert isinstance(table, dg.TableMetadataValue)
    assert [(c.name, c.type) for c in table.schema.columns] == [("split", "string"), ("examples", "int"),
                                                                ("share_percent", "float")]
    assert [r.data for r in table.records] == [{"split": "train", "examples": 9, "share_percent": 75.0},
                                               {"split": "valid", "examples": 3, "share_percent": 25.0}]
    with pytest.raises(ValueError):  # a row of another width is a bug, not a shorter record
        records_table({"a": int, "b": int}, [(1,)])


def test_a_tally_lists_each_key_its_count_and_examples():
    tally = Tally(max_examples=2)
    for name in ("a.md", "b.md", "c.md"):
        tally.add("skipped .md", example=name)
    tally.add("dropped_empty", 4)
    assert [r.data for r in tally_table(tally).records] == [
        {"what": "dropped_empty", "count": 4, "examples": ""},
        {"what": "skipped .md", "count": 3, "examples": "a.md, b.md"}]
