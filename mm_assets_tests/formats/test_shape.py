"""Structure before content: a file of the wrong shape fails naming the file and what it holds;
the check reads only the head it needs; a reader that keeps no row of a file with rows fails."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.common.counts import Tally
from mm_assets.datasets.coco.upstream import CAPTIONS_SHAPE, KARPATHY_SHAPE
from mm_assets.datasets.vg.upstream import REGIONS_SHAPE
from mm_assets.formats.json_stream import JsonFormatError
from mm_assets.formats.parquet_check import INTEGER, STRING
from mm_assets.formats.shape import (
    NoRowsKeptError,
    ShapeError,
    TsvColumn,
    check_json_shape,
    check_parquet_shape,
    check_tsv_shape,
    require_rows,
)

IMAGE = {"split": "train", "filepath": "train2014", "filename": "a.jpg", "cocoid": 7,
         "sentences": [{"raw": "A cat.", "sentid": 1}]}


def _check(document, shape, label="f.json"):
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    check_json_shape(io.BytesIO(raw), shape, label=label)


@pytest.mark.parametrize("document,shape,needle", [
    ({"images": {"not": "a list"}}, KARPATHY_SHAPE,
     "key 'images' holds an object, expected a list of records with split, filepath, filename, cocoid, "
     "sentences: an object of 1 item(s) {'not': 'a list'}"),
    ([IMAGE], KARPATHY_SHAPE, "the top level is a list, expected an object"),
    ({"dataset": "coco"}, KARPATHY_SHAPE, "no key 'images' at the top level (keys found: 'dataset')"),
    ({"images": [{**IMAGE, "cocoid": "7"}]}, KARPATHY_SHAPE, "records whose 'cocoid' is a string '7', not an integer"),
    ({"images": [{**IMAGE, "sentences": [{"text": "A cat."}]}]}, KARPATHY_SHAPE,
     "records whose 'sentences' holds records without 'raw' (the first has 'text')"),
    ({"images": ["a.jpg", "b.jpg"]}, KARPATHY_SHAPE, "records that are a string 'a.jpg'"),
    ({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": 5}, CAPTIONS_SHAPE,
     "key 'annotations' holds an integer, expected a list of records"),
    ({"images": [{"id": 1, "file_name": "a.jpg"}]}, CAPTIONS_SHAPE, "no key 'annotations'"),
    ({"regions": []}, REGIONS_SHAPE, "the top level is an object, expected a list"),
    ([{"id": 1, "regions": [{"region_id": 1, "text": "x"}]}], REGIONS_SHAPE,
     "the top-level list holds records whose 'regions' holds records without 'phrase'"),
])
def test_a_json_of_another_shape_fails_naming_the_file_and_what_it_holds(document, shape, needle):
    with pytest.raises(ShapeError) as err:
        _check(document, shape, label="dataset_coco.json in caption_datasets.zip")
    assert str(err.value).startswith("dataset_coco.json in caption_datasets.zip: ")
    assert needle in str(err.value)


def test_an_empty_or_cut_file_is_malformed_json_named():
    with pytest.raises(JsonFormatError, match="region_descriptions.json: truncated or malformed JSON"):
        _check(b"", REGIONS_SHAPE, label="region_descriptions.json")
    with pytest.raises(JsonFormatError, match="region_descriptions.json: truncated or malformed JSON"):
        _check(b'[{"id": 1, "regi', REGIONS_SHAPE, label="region_descriptions.json")


def test_sound_files_pass_an_odd_first_record_included():
    _check({"images": [{"broken": True}, IMAGE], "dataset": "coco"}, KARPATHY_SHAPE)
    _check({"images": [], "dataset": "coco"}, KARPATHY_SHAPE)  # holds no rows: that is for the reader to say
    _check({"info": {"images": 3}, "images": [{"id": 1, "file_name": "a.jpg"}], "licenses": [],
            "annotations": [{"image_id": 1, "id": 2, "caption": "x"}]}, CAPTIONS_SHAPE)
    _check([{"id": 1, "regions": []}, {"id": 2, "regions": [{"region_id": 5, "phrase": "a dog"}]}], REGIONS_SHAPE)


def test_the_check_reads_only_the_head_it_needs():
    head = json.dumps({"images": [IMAGE] * 10}).encode()[:-2]  # cut inside the list...
    _check(head + b", {this is not json at all", KARPATHY_SHAPE)  # ...after the records it judges


CC3M = (TsvColumn("caption", lambda f: bool(f.strip()), "a caption"),
        TsvColumn("url", lambda f: f.startswith(("http://", "https://")), "an http(s) URL"))


@pytest.mark.parametrize("text,needle", [
    ("http://a.org/1.jpg\ta dog\nhttp://a.org/2.jpg\ta cat\n", "line 0 has url 'a dog', not an http(s) URL"),
    ("<html><body>rate limited</body></html>\n", "line 0 has 1 field(s)"),
    ("", "empty: no line of caption TAB url"),
])
def test_a_tsv_of_another_shape_fails_naming_the_file_and_line(tmp_path, text, needle):
    path = tmp_path / "GCC-training.tsv"
    path.write_text(text)
    with pytest.raises(ShapeError) as err:
        check_tsv_shape(path, CC3M)
    assert str(err.value).startswith(f"{path}: ") and needle in str(err.value)
    path.write_text("no tab here\n\na dog\thttp://a.org/1.jpg\n")  # one sound line among the first is enough
    check_tsv_shape(path, CC3M)


def test_a_parquet_of_another_shape_fails_naming_the_file(tmp_path):
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"sentence": ["a"], "label": ["1"]}), path)
    with pytest.raises(ShapeError, match=f"{path}: column 'label' is string, expected an integer"):
        check_parquet_shape(path, {"sentence": STRING, "label": INTEGER})
    with pytest.raises(ShapeError, match="no column 'idx'"):
        check_parquet_shape(path, {"idx": INTEGER})
    (tmp_path / "page.parquet").write_text("<html>not found</html>")
    with pytest.raises(ShapeError, match="page.parquet: not a parquet file"):
        check_parquet_shape(tmp_path / "page.parquet", {"idx": INTEGER})


def test_keeping_no_row_of_a_file_with_rows_fails_and_an_empty_file_passes():
    drops = Tally()
    drops.add("dropped_missing_image", 3)
    with pytest.raises(NoRowsKeptError, match=r"x.json: none of its 3 rows was kept \(dropped_missing_image 3\)"):
        list(require_rows([[], []], len, lambda: 3, label="x.json", drops=drops))
    assert list(require_rows([], len, lambda: 0, label="x.json", drops=Tally())) == []
    assert list(require_rows([[1], []], len, lambda: 3, label="x.json", drops=drops)) == [[1], []]
