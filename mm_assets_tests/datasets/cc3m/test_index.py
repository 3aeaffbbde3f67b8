"""Google's index read as it is: quoting off, row ids = line numbers, malformed lines counted and
listed (their ids kept), shards read from the row groups that hold them."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.cc3m.index import IndexFileError, read_index_info, read_shard, verify_index_file, write_index
from mm_assets.datasets.cc3m.shards import shard_keys, shard_number, shard_rows
from mm_assets.fetch.verify import VerificationError

TSV = (
    'actor attends the premiere of "the film"\thttp://a.example/1.jpg\n'
    "a dog's \"best\" friend \t http://b.example/2.jpg \r\n"
    "no tab on this line\n"
    "\n"
    "\thttp://c.example/empty-caption.jpg\n"
    "a caption\twith\ttoo many tabs\n"
    "caf\xe9 au lait\thttp://d.example/4.jpg\n"
).encode("utf-8") + b"bad \xff utf-8\thttp://e.example/5.jpg\n" + b"last line without a newline\thttp://f.example/8.jpg"


def test_rows_keep_their_line_numbers_and_quotes(tmp_path):
    (tmp_path / "i.tsv").write_bytes(TSV)
    summary = write_index(tmp_path / "i.tsv", tmp_path / "i.parquet", shard_size=4, max_malformed=10)
    table = pq.read_table(tmp_path / "i.parquet")
    assert table["row_id"].to_pylist() == [0, 1, 6, 8]
    assert table["caption"].to_pylist() == ['actor attends the premiere of "the film"', "a dog's \"best\" friend ",
                                            "caf\xe9 au lait", "last line without a newline"]
    assert table["url"].to_pylist() == ["http://a.example/1.jpg", "http://b.example/2.jpg",
                                        "http://d.example/4.jpg", "http://f.example/8.jpg"]
    assert (summary.rows, summary.lines, summary.malformed.total) == (4, 9, 5)
    assert summary.malformed.counts == {"fields_1": 1, "empty_line": 1, "empty_caption": 1, "fields_3": 1,
                                        "invalid_utf8": 1}
    assert [row_id for row_id, _, _ in summary.malformed.listed] == [2, 3, 4, 5, 7]
    assert read_index_info(tmp_path / "i.parquet").lines == 9
    assert shard_keys(9, 4) == ["00000", "00001", "00002"]
    assert read_shard(tmp_path / "i.parquet", "00001")["row_id"].to_pylist() == [6]
    assert read_shard(tmp_path / "i.parquet", "00002")["row_id"].to_pylist() == [8]


def test_too_many_malformed_rows_fail_and_write_nothing(tmp_path):
    (tmp_path / "i.tsv").write_bytes(TSV)
    with pytest.raises(IndexFileError, match="more than 2 malformed rows.*line 2: fields_1"):
        write_index(tmp_path / "i.tsv", tmp_path / "i.parquet", shard_size=4, max_malformed=2)
    assert not (tmp_path / "i.parquet").exists()


def test_a_shard_is_read_from_its_row_groups_only(tmp_path):
    rows = 25_000
    (tmp_path / "i.tsv").write_text("".join(f"caption {n}\thttp://x.example/{n}.jpg\n" for n in range(rows)))
    write_index(tmp_path / "i.tsv", tmp_path / "i.parquet", shard_size=7_000, max_malformed=0)
    shard = read_shard(tmp_path / "i.parquet", "00002")
    assert shard["row_id"].to_pylist() == list(range(14_000, 21_000))
    assert shard["url"][0].as_py() == "http://x.example/14000.jpg"
    assert pq.ParquetFile(tmp_path / "i.parquet").metadata.num_row_groups == 3  # 10,000 rows each
    with pytest.raises(IndexFileError, match="past the end"):
        read_shard(tmp_path / "i.parquet", "00004")


def test_the_hubs_parquet_reads_the_same(tmp_path):
    pq.write_table(pa.table({"caption": ["a cat", "", "a dog"],
                             "image_url": ["http://x/1.jpg", "http://x/2.jpg", "http://x/3.jpg"]}), tmp_path / "hub.parquet")
    summary = write_index(tmp_path / "hub.parquet", tmp_path / "i.parquet", shard_size=10, max_malformed=5)
    assert pq.read_table(tmp_path / "i.parquet")["row_id"].to_pylist() == [0, 2]
    assert (summary.lines, summary.malformed.counts) == (3, {"empty_caption": 1})


def test_an_error_page_is_not_an_index(tmp_path):
    (tmp_path / "i.tsv").write_text("<!DOCTYPE html><html><body>Access denied</body></html>\n")
    with pytest.raises(VerificationError, match="HTML page"):
        verify_index_file(tmp_path / "i.tsv")
    (tmp_path / "ok.tsv").write_bytes(TSV)
    assert verify_index_file(tmp_path / "ok.tsv")


def test_an_index_cut_short_is_refused(tmp_path):
    text = b"".join(f"caption number {n}\thttp://example.com/{n}.jpg\n".encode() for n in range(5000))
    (tmp_path / "whole.tsv").write_bytes(text)
    assert verify_index_file(tmp_path / "whole.tsv")
    (tmp_path / "no_final_newline.tsv").write_bytes(text.rstrip(b"\n"))
    assert verify_index_file(tmp_path / "no_final_newline.tsv")
    cut = text.rindex(b"caption number 4999") + 9  # inside the last caption
    (tmp_path / "cut.tsv").write_bytes(text[:cut])
    with pytest.raises(VerificationError, match="cut short"):
        verify_index_file(tmp_path / "cut.tsv")
    pq.write_table(pa.table({"caption": ["a"] * 5000, "image_url": ["http://x/1.jpg"] * 5000}),
                   tmp_path / "hub.parquet", row_group_size=1000)
    assert "5,000 rows" in verify_index_file(tmp_path / "hub.parquet")
    data = (tmp_path / "hub.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(VerificationError, match="truncated parquet"):
        verify_index_file(tmp_path / "cut.parquet")


def test_shard_keys():
    assert shard_rows("00012", 10_000) == range(120_000, 130_000)
    assert shard_number("00012") == 12
    assert len(shard_keys(3_318_333, 10_000)) == 332
    with pytest.raises(ValueError):
        shard_number("12")


@pytest.mark.parametrize("name,content,needle", [
    ("i.tsv", b"http://a.example/1.jpg\ta dog\nhttp://a.example/2.jpg\ta cat\n",
     "none of its first 2 lines is caption TAB url; line 0 has url 'a dog', not an http(s) URL"),
    ("i.tsv", b'{"error": "rate limited"}\n', "line 0 has 1 field(s)"),
])
def test_an_index_of_another_shape_fails_naming_it_before_any_row_is_read(tmp_path, name, content, needle):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(IndexFileError) as err:
        write_index(tmp_path / name, tmp_path / "i.parquet", shard_size=4, max_malformed=10**6)
    assert str(err.value).startswith(f"{tmp_path / name}: ") and needle in str(err.value)
    assert "not CC3M's caption TAB url index" in str(err.value)
    assert not (tmp_path / "i.parquet").exists()


def test_a_hub_parquet_of_another_shape_fails_naming_it(tmp_path):
    source = tmp_path / "train.parquet"
    pq.write_table(pa.table({"caption": ["a dog"], "url": ["http://a.example/1.jpg"]}), source)
    with pytest.raises(IndexFileError, match=f"{source}: no column 'image_url' .columns: caption, url."):
        write_index(source, tmp_path / "i.parquet", shard_size=4, max_malformed=0)
    assert not (tmp_path / "i.parquet").exists()
