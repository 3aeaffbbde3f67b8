"""A GLUE label out of range fails glue_fairseq_data naming the task, the label, the row and the
split, and leaves no task folder (nor a staging folder) behind."""

import shutil

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.defs.glue.resources import GlueSource
from mm_assets.defs.shared.resources import StorageResource
from mm_assets.defs.tokenizer.resources import Gpt2BpeSource
from mm_assets_tests.helpers import materialize


def test_a_label_out_of_range_names_its_row(glue_mirror, bpe_dir, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(glue_mirror / "cola", mirror / "cola")
    train = mirror / "cola" / "train-00000-of-00001.parquet"
    table = pq.read_table(train)
    labels = table["label"].to_pylist()
    labels[5] = 7
    table = table.set_column(table.schema.get_field_index("label"), table.schema.field("label"),
                             pa.array(labels, table.schema.field("label").type))
    pq.write_table(table, train)
    data = tmp_path / "data"
    shutil.copytree(bpe_dir, data / "gpt2_bpe")
    resources = {"storage": StorageResource(data_root=str(data)), "glue_source": GlueSource(url=str(mirror)),
                 "gpt2_bpe_source": Gpt2BpeSource(url=str(bpe_dir))}
    materialize("glue_raw", partition_key="cola", **resources)
    with pytest.raises(dg.Failure) as err:
        materialize("glue_fairseq_data", partition_key="cola", **resources)
    assert "cola: label 7 is not one of 0..1 in row 5 (0-based) of the train split" in err.value.description
    assert sorted(p.name for p in (data / "glue").iterdir()) == ["raw"]  # no CoLA-bin, no .tmp- folder
