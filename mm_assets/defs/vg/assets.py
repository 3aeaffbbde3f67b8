"""Visual Genome: the three upstream zips, the image folders, and the two pairs tables."""

import dagster as dg

from mm_assets.datasets.vg.pairs import build_vg_concat_pairs, build_vg_pairs
from mm_assets.datasets.vg.upstream import IMAGE_ZIPS, REGIONS_JSON, REGIONS_ZIP, SEED_IMAGES, SEED_PAIRS
from mm_assets.defs.shared.inputs import missing_input
from mm_assets.defs.shared.pairs_metadata import caption_encoder, pairs_metadata, upstream_input
from mm_assets.defs.shared.resources import ArchiveLimitsResource, ComputeResource, StorageResource
from mm_assets.defs.shared.writing import sole_writer
from mm_assets.defs.shared.zips import extract_image_folders, file_location, zip_download_asset
from mm_assets.pictures.readers import caption_lengths_markdown

RULES = "docs/data-rules.md"
ZIP_ASSETS = {"VG_100K": "vg_images_zip", "VG_100K_2": "vg_images2_zip"}


def _image_zip_asset(folder: str) -> dg.AssetsDefinition:
    return zip_download_asset(
        key=ZIP_ASSETS[folder], group="vg", source_resource="vg_source",
        location=lambda source: (source.images_url, IMAGE_ZIPS[folder]),
        destination=lambda layout: layout.vg.raw(IMAGE_ZIPS[folder]),
        description=f"Visual Genome's `{IMAGE_ZIPS[folder]}` (`{folder}/<id>.jpg`) from MM_VG_IMAGES_URL, "
        f"resumed and renamed into place only once its zip structure is verified; sha256 recorded ({RULES}, 'Zips').",
    )


vg_images_zip = _image_zip_asset("VG_100K")
vg_images2_zip = _image_zip_asset("VG_100K_2")
vg_regions_zip = zip_download_asset(
    key="vg_regions_zip", group="vg", source_resource="vg_source",
    location=lambda source: file_location(source.regions_url),
    destination=lambda layout: layout.vg.raw(REGIONS_ZIP),
    required_members=(REGIONS_JSON,),
    description=f"`{REGIONS_ZIP}` (v1.2, holding `{REGIONS_JSON}`) from MM_VG_REGIONS_URL, verified member "
    f"by member (CRC-32) before it is kept; sha256 recorded ({RULES}, 'Zips').",
)


@dg.asset(
    key="vg_images",
    group_name="vg",
    deps=[vg_images_zip, vg_images2_zip],
    kinds={"jpeg"},
    description="The image folders `vg/images/VG_100K/` and `vg/images/VG_100K_2/` extracted from their "
    "zips: member names checked, CRC-32 verified, members over the archive caps refused and counted, each "
    f"folder atomic ({RULES}, 'Zips', 'Archive caps').",
)
def vg_images(context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
              archive_limits: ArchiveLimitsResource) -> dg.MaterializeResult:
    paths = storage.layout.vg
    zips = {folder: (paths.raw(name), ZIP_ASSETS[folder]) for folder, name in IMAGE_ZIPS.items()}
    return dg.MaterializeResult(metadata=extract_image_folders(context, storage, zips, paths.images_dir,
                                                               workers=compute.worker_count,
                                                               limits=archive_limits.limits))


def _require_inputs(layout) -> None:
    zip_path = layout.vg.raw(REGIONS_ZIP)
    if not zip_path.is_file():
        raise missing_input(zip_path, "vg_regions_zip")
    if missing := [folder for folder in (layout.vg.images_dir / name for name in IMAGE_ZIPS) if not folder.is_dir()]:
        raise missing_input(missing, "vg_images")


def _vg_table(context, storage, compute, archive_limits, build, output) -> dg.MaterializeResult:
    layout = storage.layout
    _require_inputs(layout)
    encoder = caption_encoder(layout)
    with sole_writer(context, output), upstream_input(layout.vg.raw(REGIONS_ZIP), "vg_regions_zip"):
        built = build(layout.vg, encoder, workers=compute.worker_count, log=context.log.info,
                      limits=archive_limits.limits)
    return dg.MaterializeResult(metadata=pairs_metadata(
        output, built.table, built.drops, images_in_zips=built.images_in_zips,
        upstream_images=built.read.images, upstream_regions=built.read.regions,
        seed_images=SEED_IMAGES, seed_pairs=SEED_PAIRS,
        caption_lengths=dg.MetadataValue.md(caption_lengths_markdown(output, encoder))))


@dg.asset(
    key="vg_pairs",
    group_name="vg",
    deps=[vg_regions_zip, vg_images, "gpt2_bpe"],
    kinds={"parquet"},
    description="One pair per Visual Genome region description (region_descriptions.json streamed in "
    "bounded memory), images then regions in file order, casing kept, encoded by the caption rule "
    f"({RULES}, 'VG pairs', 'Captions', 'Pairs tables').",
)
def vg_pairs(context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
             archive_limits: ArchiveLimitsResource) -> dg.MaterializeResult:
    return _vg_table(context, storage, compute, archive_limits, build_vg_pairs, storage.layout.vg.pairs)


@dg.asset(
    key="vg_concat_pairs",
    group_name="vg",
    deps=[vg_regions_zip, vg_images, "gpt2_bpe"],
    kinds={"parquet"},
    description="Each VG image's unique region phrases joined greedily with ' and ' into texts of at "
    f"most 64 tokens, no phrase lost, a phrase too long alone truncated ({RULES}, 'VG concat', "
    "'Pairs tables').",
)
def vg_concat_pairs(context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
                    archive_limits: ArchiveLimitsResource) -> dg.MaterializeResult:
    return _vg_table(context, storage, compute, archive_limits, build_vg_concat_pairs,
                     storage.layout.vg.concat_pairs)
