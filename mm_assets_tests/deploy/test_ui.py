"""The deployment's UI in a real headless Chromium: the webserver of the native topology, over
PostgreSQL, shows the whole asset graph, the data directory's token counts and check, a
partitioned asset's partitions, and the pictures in the assets' metadata, drawn. Screenshots go to
$MM_UI_SCREENSHOTS (`make ui-screenshots` puts them in docs/img for the docs) or to the test's tmp folder."""

import re
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

from mm_assets.formats.fairseq_mmap import read_sizes

from .browser import CHROMIUM, drawn_pictures, render, screenshot_dir
from .helpers import CC3M_SHARD, PARTITIONS
from .topology import LOCATION, graphql

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
    pytest.mark.filterwarnings("ignore:Using variable_values and operation_name:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return screenshot_dir(tmp_path_factory.mktemp("ui_screenshots"))


def _visible_text(dom: str) -> str:
    return re.sub(r"<[^>]+>", " ", dom)


def _tokens(idx_path) -> int:
    return int(np.asarray(read_sizes(idx_path), dtype=np.int64).sum())


def asset_graph_url(base: str, groups: list[str]) -> str:
    """The global asset lineage with `groups` expanded (the UI collapses groups by default).

    Group ids as the UI writes them in `expanded=`: `global@global:<group>`, and
    `<repository>@<location>:<group>` when groups are shown per code location."""
    ids = [f"global@global:{g}" for g in groups] + [f"__repository__@{LOCATION}:{g}" for g in groups]
    return f"{base}/asset-groups?expanded={quote(','.join(ids))}"


def test_the_asset_graph_shows_every_asset_of_the_code_location(topology, topology_runs, shots, tmp_path):
    """The overview (one box per dataset, lineage between them), then each dataset's group opened
    in turn: the UI draws only what fits the view, so every asset must show in its own group's view."""
    nodes = graphql(topology.url, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    by_group: dict[str, list[str]] = {}
    for node in nodes:
        by_group.setdefault(node["groupName"], []).append("/".join(node["assetKey"]["path"]))
    assert {"tokenizer", "owt", "cc3m", "coco", "vg", "pairs", "imagenet", "glue"} <= set(by_group)
    overview = _visible_text(render(asset_graph_url(topology.url, []), tmp_path / "profile",
                                    shots / "asset-graph.png", size="1800,1000"))
    assert all(group in overview for group in by_group)
    missing = {}
    for group, keys in sorted(by_group.items()):
        shot = shots / f"asset-graph-{group}.png" if group == "owt" else None
        text = _visible_text(render(asset_graph_url(topology.url, [group]), tmp_path / "profile", shot,
                                    size="1800,1000"))
        missing.update({key: group for key in keys if key not in text})
    assert missing == {}, f"asset keys not shown in their group's graph: {missing}"
    assert (shots / "asset-graph.png").stat().st_size > 20_000


def test_the_data_directory_page_shows_its_token_counts(topology, topology_runs, shots, tmp_path):
    data = topology.home.parent / "data" / "owt" / "fairseq"
    tokens = {split: _tokens(data / f"{split}.idx") for split in ("train", "valid")}
    dom = render(f"{topology.url}/assets/owt_fairseq_data", tmp_path / "profile", shots / "owt-fairseq-data.png")
    text = _visible_text(dom)
    assert "train_tokens" in text and "valid_tokens" in text
    for count in tokens.values():
        assert re.search(rf"\b{count:,}\b|\b{count}\b", text), count
    assert (shots / "owt-fairseq-data.png").stat().st_size > 20_000


def test_the_checks_tab_shows_the_fairseq_check_passed(topology, topology_runs, tmp_path):
    dom = render(f"{topology.url}/assets/owt_fairseq_data?view=checks", tmp_path / "profile")
    assert "fairseq_reads_data_dir" in dom
    assert "Passed" in dom or "Succeeded" in dom


def test_a_partitioned_asset_shows_its_partitions(topology, topology_runs, shots, tmp_path):
    """The partitions tab: 3 of 21 slices materialized, and slice 00's own token count."""
    tokens = _tokens(topology.home.parent / "data" / "owt" / "binarized" / "slice00.idx")
    dom = render(f"{topology.url}/assets/owt_binarized_slice?view=partitions&partition=00", tmp_path / "profile",
                 shots / "owt-binarized-slice-partitions.png")
    text = " ".join(_visible_text(dom).split())
    assert f"Materialized ({len(PARTITIONS)})" in text and f"Missing ({21 - len(PARTITIONS)})" in text
    assert re.search(rf"\b{tokens:,}\b|\b{tokens}\b", text), tokens
    assert (shots / "owt-binarized-slice-partitions.png").stat().st_size > 20_000


def _drawn(pictures: list[dict]) -> list[str]:
    return [p["alt"] for p in pictures if p["complete"] and p["naturalWidth"] > 0]


def test_the_pair_examples_sheet_is_drawn_on_its_page(topology, picture_runs, shots, tmp_path):
    """The contact sheet, opened from the asset's metadata, is an image the browser decoded at the
    size of the PNG written under pairs/examples/."""
    pictures = drawn_pictures(f"{topology.url}/assets/pair_examples", tmp_path / "profile", "sheet",
                              screenshot=shots / "pair-examples-ui.png")
    assert _drawn(pictures) == ["pair examples"], pictures
    with Image.open(topology.home.parent / "data" / "pairs" / "examples" / "pair_examples.png") as sheet:
        assert (pictures[0]["naturalWidth"], pictures[0]["naturalHeight"]) == sheet.size


@pytest.mark.parametrize(("page", "key", "alt"), [
    (f"cc3m_availability?view=partitions&partition={CC3M_SHARD}", "link_rot", f"link rot of shard {CC3M_SHARD}"),
    (f"cc3m_availability?view=partitions&partition={CC3M_SHARD}", "link_rot_all_shards", "link rot of all shards"),
    ("pair_manifest", "caption_lengths", "caption token lengths"),
    ("owt_fairseq_data", "sequence_lengths", "OpenWebText sequence lengths"),
])
def test_each_chart_is_drawn_on_its_page(topology, picture_runs, tmp_path, page, key, alt):
    pictures = drawn_pictures(f"{topology.url}/assets/{page}", tmp_path / "profile", key)
    assert _drawn(pictures) == [alt], pictures
