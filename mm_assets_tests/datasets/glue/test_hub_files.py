"""A hub GLUE file of another shape fails naming the file and the task before any row is read."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.glue.hub_files import GlueFileError, read_split
from mm_assets.datasets.glue.tasks import TASKS


def test_a_file_of_another_shape_fails_naming_it(tmp_path):
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"sentence": ["a fine sentence"], "label": ["1"], "idx": [0]}), path)
    with pytest.raises(GlueFileError, match=rf"{path}: column 'label' is string, expected an integer \(cola, split "):
        read_split(TASKS["cola"], path)
    pq.write_table(pa.table({"text": ["a fine sentence"], "label": [1], "idx": [0]}), path)
    with pytest.raises(GlueFileError, match="no column 'sentence' .columns: text, label, idx."):
        read_split(TASKS["cola"], path)
    pq.write_table(pa.table({"sentence": ["a fine sentence"], "label": [1], "idx": [0]}), path)
    assert read_split(TASKS["cola"], path).labels == [1]
