"""`pair_examples` through Dagster: the sheet written under pairs/examples/, embedded in the
asset's metadata as a data URI of the same bytes, the same bytes when materialized again."""

import base64
import json

import pytest

from mm_assets.defs.pairs.resources import PairsSettings
from mm_assets.defs.shared.resources import SettingError, StorageResource
from mm_assets.layout import DataLayout
from mm_assets.pictures.contact_sheet import SHEET_BUDGET
from mm_assets_tests.helpers import materialize
from mm_assets_tests.pictures.sample_data import LONG_CAPTION, make_pictures_root


def test_the_sheet_is_written_embedded_and_the_same_bytes_twice(tmp_path, caption_encoder, bpe_dir):
    root = make_pictures_root(tmp_path / "data", caption_encoder, bpe_dir)
    folder = DataLayout(root).pairs.examples_dir
    storage = StorageResource(data_root=str(root))
    sheets = []
    for _ in range(2):
        result = materialize(["pair_examples"], storage=storage, pairs_settings=PairsSettings(examples_per_source="2"))
        metadata = result.asset_materializations_for_node("pair_examples")[0].metadata
        sheets.append((folder / "pair_examples.png").read_bytes())
    png = sheets[0]
    assert sheets[1] == png and len(png) <= SHEET_BUDGET
    markdown = metadata["sheet"].value
    assert markdown.startswith("![pair examples](data:image/png;base64,")
    assert base64.b64decode(markdown.split("base64,", 1)[1][:-1]) == png
    assert metadata["png_bytes"].value == len(png)
    assert {s: metadata[f"examples_{s}"].value for s in ("coco", "vg", "vg_concat", "cc3m")} == {
        "coco": 2, "vg": 2, "vg_concat": 2, "cc3m": 2}
    assert metadata["cut_captions_shown"].value == 1
    listing = json.loads((folder / "pair_examples.json").read_text())
    (cut,) = [e for e in listing["examples"] if e["cut"]]
    assert cut["caption"] == LONG_CAPTION and "[CUT at 64 tokens" in cut["text_drawn"]
    assert "vg/concat_pairs.parquet" in metadata["drawn_from"].value  # the variant the manifest left out


def test_a_bad_count_names_its_variable(tmp_path):
    with pytest.raises(SettingError, match="MM_PAIR_EXAMPLES_PER_SOURCE='0'"):
        PairsSettings(examples_per_source="0").check_values()


def test_without_a_manifest_it_says_what_to_materialize(tmp_path):
    result = materialize(["pair_examples"], storage=StorageResource(data_root=str(tmp_path)), raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "materialize pair_manifest first" in failure.step_failure_data.error.message
