"""The merged manifest: sources in order, CC3M encoded by the same rule, Table 1 and the checks' readers."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_assets.common.missing import MissingInputError
from mm_assets.datasets.coco.pairs import build_coco_pairs
from mm_assets.datasets.coco.upstream import SPLITS
from mm_assets.datasets.pairs.manifest import build_manifest
from mm_assets.datasets.pairs.table import PAIRS_SCHEMA
from mm_assets.datasets.pairs.table1 import histogram_rows, table1_markdown
from mm_assets.datasets.pairs.validate import check_images, check_pairs_table, sample_images, sample_rows
from mm_assets.datasets.vg.pairs import build_vg_concat_pairs, build_vg_pairs
from mm_assets.formats.webdataset import sample_key
from mm_assets.text.captions import clean_caption
from mm_assets_tests.helpers import install_coco_vg, write_cc3m_subset

CC3M_CAPTIONS = ["actor attends the premiere", "  city skyline at night ", "", "a\x00 dog", "émoji 😀 art"]


@pytest.fixture(scope="module")
def layout(coco_vg_mirror, tmp_path_factory, caption_encoder):
    layout = install_coco_vg(coco_vg_mirror, tmp_path_factory.mktemp("data"))
    build_coco_pairs(SPLITS["karpathy"], layout.coco, caption_encoder, workers=2)
    build_vg_pairs(layout.vg, caption_encoder, workers=2)
    build_vg_concat_pairs(layout.vg, caption_encoder, workers=2)
    return layout


def test_manifest_with_cc3m_in_source_order(layout, caption_encoder):
    row_ids = write_cc3m_subset(layout.root, CC3M_CAPTIONS)
    subset = layout.root / "cc3m" / "subset.parquet"
    built = build_manifest(layout.pairs.manifest, {"coco": layout.coco.pairs, "vg_concat": layout.vg.concat_pairs},
                           subset, caption_encoder, workers=2)
    table = pq.read_table(layout.pairs.manifest)
    sources = table.column("source").to_pylist()
    coco, vg = pq.read_table(layout.coco.pairs), pq.read_table(layout.vg.concat_pairs)
    assert sources == ["coco"] * coco.num_rows + ["vg_concat"] * vg.num_rows + ["cc3m"] * 4
    assert table.slice(0, coco.num_rows).equals(coco) and table.slice(coco.num_rows, vg.num_rows).equals(vg)
    cc3m = table.slice(coco.num_rows + vg.num_rows).to_pylist()
    kept = [(row_id, caption) for row_id, caption in zip(row_ids, CC3M_CAPTIONS) if clean_caption(caption)]
    assert [(r["image_id"], r["caption"]) for r in cc3m] == [(i, clean_caption(c)) for i, c in kept]
    assert [r["image"] for r in cc3m] == [f"cc3m/images/00000.tar#{sample_key(i)}" for i, _ in kept]
    assert [r["tokens"] for r in cc3m] == [caption_encoder.encode([clean_caption(c)]).tokens_of(0) for _, c in kept]
    assert built.cc3m_drops["dropped_empty_caption"] == 1 and built.cc3m_drops["captions_with_nul"] == 1
    assert {s: v.pairs for s, v in built.table.stats.items()} == {"coco": 130, "vg_concat": vg.num_rows, "cc3m": 4}
    assert check_pairs_table(layout.pairs.manifest).problems.total() == 0
    images = sample_images(layout.pairs.manifest)
    assert len(images) == 26 + 20 + 4  # fewer than 1,000: every image
    assert check_images(layout.root, images, workers=2).counts == {"checked": 50}
    markdown = table1_markdown(built.table.stats)
    assert "| COCO | 26 | 82,783 | 5.0 | 5.0 |" in markdown and "| CC3M subset | 4 | 500,000 |" in markdown
    assert "| **total** | 50 | 691,032 |" in markdown
    assert 64 in [tokens for tokens, _, _ in histogram_rows(built.table.stats["vg_concat"].token_histogram)]


def test_manifest_is_written_in_row_groups_of_the_set_size(layout, caption_encoder, tmp_path, monkeypatch):
    from mm_assets.datasets.pairs import table as pairs_table
    monkeypatch.setattr(pairs_table, "ROW_GROUP_ROWS", 50)
    path = tmp_path / "small_groups.parquet"
    build_manifest(path, {"coco": layout.coco.pairs, "vg": layout.vg.pairs}, None, caption_encoder, workers=2)
    metadata = pq.read_metadata(path)
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert len(sizes) >= 3 and set(sizes[:-1]) == {50} and 0 < sizes[-1] <= 50
    whole = pa.concat_tables([pq.read_table(layout.coco.pairs), pq.read_table(layout.vg.pairs)])
    assert pq.read_table(path).equals(whole)


def test_manifest_without_cc3m_and_with_a_missing_table(layout, caption_encoder, tmp_path):
    built = build_manifest(tmp_path / "m.parquet", {"coco": layout.coco.pairs, "vg": layout.vg.pairs}, None,
                           caption_encoder, workers=1)
    assert set(built.inputs) == {"coco", "vg"} and built.table.rows == 130 + 201
    with pytest.raises(MissingInputError, match="none.parquet is missing: materialize vg_pairs first"):
        build_manifest(tmp_path / "n.parquet", {"coco": layout.coco.pairs, "vg": tmp_path / "none.parquet"}, None,
                       caption_encoder, workers=1)
    assert not (tmp_path / "n.parquet").exists()


def test_the_table_checks_find_broken_rows_and_images(layout, tmp_path):
    rows = pq.read_table(layout.coco.pairs).slice(0, 6).to_pylist()
    rows[1]["tokens"] = rows[1]["tokens"][1:]  # lost <s>
    rows[2]["tokens"] = rows[2]["tokens"][:-1]  # lost </s>
    rows[3]["n_tokens"] = 99
    rows[4]["caption"] = " padded "
    rows[5]["tokens"] = [0] + [2] + rows[5]["tokens"][1:]  # </s> inside
    rows[5]["n_tokens"] = len(rows[5]["tokens"])
    pq.write_table(pa.Table.from_pylist(rows, schema=PAIRS_SCHEMA), tmp_path / "bad.parquet")
    report = check_pairs_table(tmp_path / "bad.parquet")
    assert report.problems.counts == {"does_not_start_with_bos": 1, "does_not_end_with_eos": 1,
                                      "n_tokens_differs_from_tokens": 3, "caption_empty_or_not_stripped": 1,
                                      "special_token_inside": 1}
    image = rows[0]["image"]
    (layout.root / "broken.jpg").write_bytes((layout.root / image).read_bytes()[:200])
    result = check_images(layout.root, [image, "nowhere.jpg", "broken.jpg", "cc3m/images/00009.tar#000000001"])
    assert result["checked"] == 4 and result["missing"] == 2 and result["undecodable"] == 1
    sample = sample_rows(layout.coco.pairs, count=10)
    assert len(sample) >= 10 and all(set(row) == {"row", "source", "caption", "tokens"} for row in sample)
    assert sample == sample_rows(layout.coco.pairs, count=10)
