"""COCO's settings and failure messages, and its zips fetched over HTTP from a loopback mirror."""

import hashlib
import zipfile

import dagster as dg
import pytest
from aiohttp import web

from mm_assets.defs.coco.resources import CocoSource
from mm_assets.defs.pairs.resources import PairsSettings
from mm_assets.defs.shared.resources import HttpResource, SettingError, StorageResource
from mm_assets.defs.shared.zips import file_location, zip_download_check
from mm_assets.defs.vg.resources import VgSource
from mm_assets.fetch.http import FetchPolicy, download_file_sync
from mm_assets.fetch.verify import VerificationError
from mm_assets_tests.helpers import LoopbackServer, flip_byte_in_zip_member, materialize


@pytest.mark.parametrize("resource,needle", [
    (CocoSource(split="val2017"), "MM_COCO_SPLIT='val2017': expected karpathy (Karpathy train + restval"),
    (CocoSource(karpathy_url="https://x/"), "MM_COCO_KARPATHY_URL='https://x/': expected the URL or path of"),
    (CocoSource(url=" "), "MM_COCO_URL=' '"),
    (VgSource(regions_url=""), "MM_VG_REGIONS_URL=''"),
    (PairsSettings(vg="both"), "MM_PAIRS_VG='both': expected regions (one pair per VG region) or concat"),
])
def test_bad_settings_name_the_variable(resource, needle):
    with pytest.raises(SettingError) as err:
        resource.check_values()
    assert needle in str(err.value)


def test_a_file_setting_splits_into_folder_and_name():
    assert file_location("https://h.org/a/b/caption_datasets.zip") == ("https://h.org/a/b", "caption_datasets.zip")
    assert file_location("/m/karpathy/caption_datasets.zip") == ("/m/karpathy", "caption_datasets.zip")
    assert file_location("file:///m/x.zip") == ("/m", "x.zip")


def test_pairs_need_their_inputs_first(tmp_path):
    with pytest.raises(dg.Failure, match="caption_datasets.zip is missing: materialize coco_karpathy_zip first"):
        materialize("coco_pairs", storage=StorageResource(data_root=str(tmp_path)), coco_source=CocoSource())
    with pytest.raises(dg.Failure, match="materialize vg_regions_zip first"):
        materialize("vg_pairs", storage=StorageResource(data_root=str(tmp_path)))


def test_a_damaged_zip_in_a_local_mirror_is_refused_and_not_kept(coco_vg_mirror, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "annotations").mkdir(parents=True)
    source = open(coco_vg_mirror["MM_COCO_URL"] + "/annotations/annotations_trainval2014.zip", "rb").read()
    (mirror / "annotations" / "annotations_trainval2014.zip").write_bytes(source[: len(source) - 100])
    with pytest.raises(dg.Failure, match="not a readable zip") as err:
        materialize("coco_annotations_zip", storage=StorageResource(data_root=str(tmp_path / "data")),
                    coco_source=CocoSource(url=str(mirror)))
    assert err.value.allow_retries is False  # a local mirror's file will be just as bad next time
    assert not list((tmp_path / "data" / "coco" / "raw" / "annotations").iterdir())


@pytest.fixture
def http_mirror(coco_vg_mirror):
    async def cut_short(request):  # a body cut in half, with no length announced
        data = open(coco_vg_mirror["MM_COCO_KARPATHY_URL"], "rb").read()
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/cut/caption_datasets.zip", cut_short)
    app.router.add_static("/coco", coco_vg_mirror["MM_COCO_URL"])
    app.router.add_static("/karpathy", coco_vg_mirror["MM_COCO_KARPATHY_URL"].rsplit("/", 1)[0])
    with LoopbackServer(app) as server:
        yield server


def test_zips_fetched_over_http_with_their_sha256(http_mirror, coco_vg_mirror, tmp_path):
    source = CocoSource(url=http_mirror.url("coco"), karpathy_url=http_mirror.url("karpathy/caption_datasets.zip"))
    result = materialize(["coco_annotations_zip", "coco_karpathy_zip"], storage=StorageResource(data_root=str(tmp_path)),
                         http=HttpResource(allow_private="1"), coco_source=source)
    stored = tmp_path / "coco" / "raw" / "caption_datasets.zip"
    assert stored.read_bytes() == open(coco_vg_mirror["MM_COCO_KARPATHY_URL"], "rb").read()
    metadata = result.asset_materializations_for_node("coco_karpathy_zip")[0].metadata
    assert metadata["sha256"].value == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert "every CRC-32 checked" in metadata["verified"].value


def test_a_body_cut_short_fails_verification_and_is_removed(http_mirror, tmp_path):
    dest = tmp_path / "caption_datasets.zip"
    with pytest.raises(VerificationError, match="not a readable zip") as err:
        download_file_sync(http_mirror.url("cut/caption_datasets.zip"), dest, policy=FetchPolicy(allow_private=True),
                           verify=zip_download_check(("dataset_coco.json",)))
    assert err.value.retryable and not dest.exists()


def test_a_damaged_image_zip_found_at_extraction_is_removed_and_named(coco_vg_mirror, tmp_path):
    raw = tmp_path / "coco" / "raw" / "zips" / "train2014.zip"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(open(coco_vg_mirror["MM_COCO_URL"] + "/zips/train2014.zip", "rb").read())
    with zipfile.ZipFile(raw) as archive:
        member = [name for name in archive.namelist() if name.endswith(".jpg")][3]
    flip_byte_in_zip_member(raw, member)
    with pytest.raises(dg.Failure, match=f"member {member}: damaged.*materialize coco_train2014_zip again") as err:
        materialize("coco_images", storage=StorageResource(data_root=str(tmp_path)),
                    coco_source=CocoSource(split="train2014"))
    assert err.value.allow_retries is False and not raw.exists()
    assert not (tmp_path / "coco" / "images" / "train2014").exists()


def test_the_pairs_settings_are_bound_from_the_environment(monkeypatch):
    monkeypatch.setenv("MM_COCO_SPLIT", "train2014")
    monkeypatch.setenv("MM_PAIRS_VG", "concat")
    monkeypatch.delenv("MM_VG_IMAGES_URL", raising=False)
    assert isinstance(CocoSource.from_env().split, dg.EnvVar)
    assert isinstance(PairsSettings.from_env().vg, dg.EnvVar)
    assert VgSource.from_env().images_url == "https://cs.stanford.edu/people/rak248/VG_100K_2"
    assert CocoSource(split="train2014").chosen_split().pairs == 414_113


@pytest.fixture
def installed(coco_vg_mirror, bpe_dir, tmp_path):
    """The zips and images as their assets leave them, and the BPE files: coco_pairs can run."""
    from mm_assets.text.gpt2_bpe import fetch_gpt2_bpe
    from mm_assets_tests.helpers import install_coco_vg

    layout = install_coco_vg(coco_vg_mirror, tmp_path / "data")
    fetch_gpt2_bpe(str(bpe_dir), layout.gpt2_bpe_dir)
    return layout, {"storage": StorageResource(data_root=str(layout.root)), "coco_source": CocoSource()}


def test_a_truncated_json_in_a_sound_zip_fails_naming_it_and_keeps_the_zip(installed):
    from mm_assets.datasets.coco.upstream import KARPATHY_JSON, KARPATHY_ZIP
    from mm_assets.formats.zip import write_zip

    layout, resources = installed
    karpathy = layout.coco.raw(KARPATHY_ZIP)
    with zipfile.ZipFile(karpathy) as archive:
        text = archive.read(KARPATHY_JSON)
    write_zip(karpathy, [(KARPATHY_JSON, text[: len(text) // 2])])
    with pytest.raises(dg.Failure) as err:
        materialize("coco_pairs", **resources)
    assert KARPATHY_JSON in err.value.description and "nothing was written" in err.value.description
    assert karpathy.is_file() and not layout.coco.pairs.exists()


def test_a_damaged_member_removes_the_zip_and_says_which_asset_fetches_it(installed):
    from mm_assets.datasets.coco.upstream import KARPATHY_JSON, KARPATHY_ZIP
    from mm_assets_tests.helpers import flip_byte_in_zip_member

    layout, resources = installed
    karpathy = layout.coco.raw(KARPATHY_ZIP)
    flip_byte_in_zip_member(karpathy, KARPATHY_JSON)
    with pytest.raises(dg.Failure) as err:
        materialize("coco_pairs", **resources)
    assert "materialize coco_karpathy_zip again" in err.value.description
    assert not karpathy.exists() and not layout.coco.pairs.exists()


@pytest.mark.slow  # materializing coco_pairs runs its fairseq check through Pipes too
def test_the_counts_check_fails_when_the_table_lost_rows(installed):
    import pyarrow.parquet as pq

    from mm_assets.definitions import defs

    layout, resources = installed
    instance = dg.DagsterInstance.ephemeral()
    materialize("coco_pairs", instance=instance, **resources)
    key = dg.AssetCheckKey(dg.AssetKey("coco_pairs"), "pair_counts_match_metadata")
    job = dg.define_asset_job("counts_only", selection=dg.AssetSelection.checks(key))
    checks = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=[job],
                            resources={**defs.resources, **resources})

    def verdict():
        result = checks.resolve_job_def("counts_only").execute_in_process(instance=instance)
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    assert verdict().passed
    table = pq.read_table(layout.coco.pairs)
    pq.write_table(table.slice(0, table.num_rows - 3), layout.coco.pairs)
    failed = verdict()
    assert not failed.passed and "coco" in str(failed.metadata)


# --- archive caps and structure before content (issue 15) ---

def test_a_zip_bomb_in_an_image_zip_is_refused_counted_and_not_written(coco_vg_mirror, tmp_path):
    from mm_assets_tests.formats.archives import MIB, add_member, zeros

    raw = tmp_path / "coco" / "raw" / "zips" / "train2014.zip"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(open(coco_vg_mirror["MM_COCO_URL"] + "/zips/train2014.zip", "rb").read())
    bomb = add_member(raw, "train2014/COCO_train2014_000000000001.jpg", zeros(300 * MIB))
    assert bomb.compress_size < 320_000 and bomb.file_size == 300 * MIB  # ~305 KB that inflate to 300 MB
    add_member(raw, "train2014/COCO_train2014_000000000002.jpg", [bytes(range(256)) * 82_000], compress=False)
    result = materialize("coco_images", storage=StorageResource(data_root=str(tmp_path)),
                         coco_source=CocoSource(split="train2014"))
    metadata = result.asset_materializations_for_node("coco_images")[0].metadata
    folder = tmp_path / "coco" / "images" / "train2014"
    assert not (folder / "COCO_train2014_000000000001.jpg").exists()
    assert not (folder / "COCO_train2014_000000000002.jpg").exists()  # 20.99 MB stored: over 20,000,000
    assert metadata["skipped_unsafe_compression_ratio"].value == 1 and metadata["skipped_too_large"].value == 1
    assert any("COCO_train2014_000000000001.jpg" in r.data["examples"] for r in metadata["train2014_skipped_members"].records)
    assert metadata["train2014_images"].value == 20 == len(list(folder.iterdir()))


def _karpathy_holding(layout, document) -> None:
    import json

    from mm_assets.datasets.coco.upstream import KARPATHY_JSON, KARPATHY_ZIP
    from mm_assets.formats.zip import write_zip

    write_zip(layout.coco.raw(KARPATHY_ZIP), [(KARPATHY_JSON, json.dumps(document).encode())])


def test_a_karpathy_file_of_another_shape_fails_at_once_naming_it(installed):
    layout, resources = installed
    _karpathy_holding(layout, {"images": {"not": "a list"}})
    with pytest.raises(dg.Failure) as err:
        materialize("coco_pairs", **resources)
    assert err.value.allow_retries is False
    assert err.value.description.startswith("dataset_coco.json in caption_datasets.zip: key 'images' holds an "
                                             "object, expected a list of records")
    assert "{'not': 'a list'}" in err.value.description and "nothing was written" in err.value.description
    assert not layout.coco.pairs.exists() and layout.coco.raw("caption_datasets.zip").is_file()


def test_keeping_no_caption_of_a_file_with_captions_fails_and_keeps_the_last_table(installed):
    layout, resources = installed
    pairs_only = dg.AssetSelection.assets("coco_pairs").without_checks()
    materialize(pairs_only, **resources)
    before = layout.coco.pairs.read_bytes()
    for folder in ("train2014", "val2014"):
        for image in (layout.coco.images_dir / folder).iterdir():
            image.unlink()
    with pytest.raises(dg.Failure) as err:
        materialize(pairs_only, **resources)
    assert err.value.allow_retries is False
    assert "caption_datasets.zip (karpathy captions): none of its 137 rows was kept (dropped_missing_image 136" \
        in err.value.description
    assert layout.coco.pairs.read_bytes() == before


def test_an_upstream_file_that_holds_no_captions_gives_an_empty_table_that_says_so(installed):
    layout, resources = installed
    _karpathy_holding(layout, {"images": [], "dataset": "coco"})
    result = materialize(dg.AssetSelection.assets("coco_pairs").without_checks(), **resources)
    metadata = result.asset_materializations_for_node("coco_pairs")[0].metadata
    assert metadata["dagster/row_count"].value == 0 and metadata["captions_read"].value == 0
    assert metadata["empty_because"].value == "the upstream file holds no rows for this table"
