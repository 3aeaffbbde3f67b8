"""A fetched parquet file passes only whole, with the columns a dataset reads; every failure says why."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.fetch.verify import VerificationError
from mm_assets.formats.parquet_check import HUB_IMAGE, INTEGER, STRING, check_parquet

COLUMNS = {"image": HUB_IMAGE, "label": INTEGER}


@pytest.fixture
def shard(tmp_path):
    images = pa.array([{"bytes": b"\xff\xd8" + bytes([i]) * 3000, "path": f"n01440764_{i}_n01440764.JPEG"}
                       for i in range(40)], pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"image": images, "label": pa.array([0] * 40, pa.int64())}), path,
                   row_group_size=10, compression="zstd")
    return path


def test_a_whole_file_passes_and_says_what_was_checked(shard):
    assert check_parquet(shard, COLUMNS) == (
        "parquet: 40 rows in 4 row group(s); columns image, label present and decoded")


def test_truncated_file(shard):
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(VerificationError, match="truncated parquet file: .* no PAR1 magic at the end"):
        check_parquet(shard, COLUMNS)


def test_an_error_page_is_not_parquet(shard):
    shard.write_bytes(b"<!DOCTYPE html><html><body>Access to this dataset is restricted</body></html>")
    with pytest.raises(VerificationError, match="not a parquet file"):
        check_parquet(shard, COLUMNS)


def test_missing_and_mistyped_columns(shard, tmp_path):
    with pytest.raises(VerificationError, match="no column 'idx'"):
        check_parquet(shard, {**COLUMNS, "idx": INTEGER})
    with pytest.raises(VerificationError, match="column 'label' is int64, expected a string"):
        check_parquet(shard, {"label": STRING})
    flat = tmp_path / "flat.parquet"
    pq.write_table(pa.table({"image": [b"x"], "label": [1]}), flat)
    with pytest.raises(VerificationError, match=r"column 'image' is binary, expected a struct of \{bytes: bytes"):
        check_parquet(flat, COLUMNS)


def test_damage_inside_a_row_group_is_found(shard):
    data = bytearray(shard.read_bytes())
    chunk = pq.ParquetFile(shard).metadata.row_group(2).column(0)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data[start:start + chunk.total_compressed_size // 2] = b"\xab" * (chunk.total_compressed_size // 2)
    shard.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match="row group 2 of 4 does not decode"):
        check_parquet(shard, COLUMNS)
