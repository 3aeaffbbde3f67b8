"""COCO: the four upstream zips, the image folders, and the pairs of the chosen caption split."""

import dagster as dg

from mm_assets.datasets.coco.pairs import build_coco_pairs, caption_zip
from mm_assets.datasets.coco.upstream import (
    ANNOTATIONS_ZIP,
    CAPTIONS_TRAIN2014,
    IMAGE_ZIPS,
    KARPATHY_JSON,
    KARPATHY_ZIP,
    SEED_DISCREPANCY,
    SEED_IMAGES,
    SEED_PAIRS,
)
from mm_assets.defs.shared.inputs import missing_input
from mm_assets.defs.shared.pairs_metadata import caption_encoder, pairs_metadata, upstream_input
from mm_assets.defs.shared.resources import ArchiveLimitsResource, ComputeResource, StorageResource
from mm_assets.defs.shared.writing import sole_writer
from mm_assets.defs.shared.zips import extract_image_folders, file_location, zip_download_asset
from mm_assets.pictures.readers import caption_lengths_markdown

from .resources import CocoSource

RULES = "docs/data-rules.md"
ZIP_ASSETS = {"train2014": "coco_train2014_zip", "val2014": "coco_val2014_zip"}
CAPTION_ZIP_ASSETS = {ANNOTATIONS_ZIP: "coco_annotations_zip", KARPATHY_ZIP: "coco_karpathy_zip"}


def _image_zip_asset(folder: str) -> dg.AssetsDefinition:
    return zip_download_asset(
        key=ZIP_ASSETS[folder], group="coco", source_resource="coco_source",
        location=lambda source: (source.url, IMAGE_ZIPS[folder]),
        destination=lambda layout: layout.coco.raw(IMAGE_ZIPS[folder]),
        description=f"COCO's `{IMAGE_ZIPS[folder]}` from MM_COCO_URL (a URL or a local mirror), resumed and "
        f"renamed into place only once its zip structure is verified; sha256 recorded ({RULES}, 'Zips').",
    )


coco_train2014_zip = _image_zip_asset("train2014")
coco_val2014_zip = _image_zip_asset("val2014")
coco_annotations_zip = zip_download_asset(
    key="coco_annotations_zip", group="coco", source_resource="coco_source",
    location=lambda source: (source.url, ANNOTATIONS_ZIP),
    destination=lambda layout: layout.coco.raw(ANNOTATIONS_ZIP),
    required_members=(CAPTIONS_TRAIN2014,),
    description=f"COCO's `{ANNOTATIONS_ZIP}` (holding `{CAPTIONS_TRAIN2014}`) from MM_COCO_URL, verified "
    f"member by member (CRC-32) before it is kept; sha256 recorded ({RULES}, 'Zips').",
)
coco_karpathy_zip = zip_download_asset(
    key="coco_karpathy_zip", group="coco", source_resource="coco_source",
    location=lambda source: file_location(source.karpathy_url),
    destination=lambda layout: layout.coco.raw(KARPATHY_ZIP),
    required_members=(KARPATHY_JSON,),
    description=f"Karpathy's `{KARPATHY_ZIP}` (holding `{KARPATHY_JSON}`) from MM_COCO_KARPATHY_URL, "
    f"verified member by member (CRC-32) before it is kept; sha256 recorded ({RULES}, 'Zips').",
)


@dg.asset(
    key="coco_images",
    group_name="coco",
    deps=[coco_train2014_zip, coco_val2014_zip],
    kinds={"jpeg"},
    description="The image folders `coco/images/train2014/` (and `val2014/` for the Karpathy split) "
    "extracted from their zips: member names checked, CRC-32 verified, members over the archive caps refused "
    f"and counted, each folder atomic ({RULES}, 'Zips', 'Archive caps').",
)
def coco_images(context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
                coco_source: CocoSource, archive_limits: ArchiveLimitsResource) -> dg.MaterializeResult:
    paths = storage.layout.coco
    split = coco_source.chosen_split()
    zips = {folder: (paths.raw(IMAGE_ZIPS[folder]), ZIP_ASSETS[folder]) for folder in split.folders}
    metadata = extract_image_folders(context, storage, zips, paths.images_dir, workers=compute.worker_count,
                                     limits=archive_limits.limits)
    return dg.MaterializeResult(metadata={**metadata, "split": split.name})


@dg.asset(
    key="coco_pairs",
    group_name="coco",
    deps=[coco_annotations_zip, coco_karpathy_zip, coco_images, "gpt2_bpe"],
    kinds={"parquet"},
    description="One pair per COCO caption of MM_COCO_SPLIT (Karpathy train + restval, or train2014), "
    "ordered by image id then caption id, encoded by the caption rule: `<s>` + GPT-2 BPE + `</s>`, "
    f"at most 64 tokens ({RULES}, 'COCO pairs', 'Captions', 'Pairs tables').",
)
def coco_pairs(context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
               coco_source: CocoSource, archive_limits: ArchiveLimitsResource) -> dg.MaterializeResult:
    layout = storage.layout
    split = coco_source.chosen_split()
    zip_file = caption_zip(split)
    zip_path = layout.coco.raw(zip_file)
    if not zip_path.is_file():
        raise missing_input(zip_path, CAPTION_ZIP_ASSETS[zip_file])
    if missing := [folder for folder in (layout.coco.images_dir / name for name in split.folders) if not folder.is_dir()]:
        raise missing_input(missing, "coco_images", detail=f"MM_COCO_SPLIT={split.name}")
    encoder = caption_encoder(layout)
    with sole_writer(context, layout.coco.pairs), upstream_input(zip_path, CAPTION_ZIP_ASSETS[zip_file]):
        built = build_coco_pairs(split, layout.coco, encoder, workers=compute.worker_count, log=context.log.info,
                                 limits=archive_limits.limits)
    stats = built.table.stats.get("coco")
    return dg.MaterializeResult(metadata=pairs_metadata(
        layout.coco.pairs, built.table, built.drops,
        split=split.name, split_description=split.what, captions_read=built.captions_read,
        images=stats.images if stats else 0, pairs=stats.pairs if stats else 0,
        real_data_images_of_split=split.images, real_data_pairs_of_split=split.pairs,
        seed_images=SEED_IMAGES, seed_pairs=SEED_PAIRS, seed_figures=SEED_DISCREPANCY,
        caption_lengths=dg.MetadataValue.md(caption_lengths_markdown(layout.coco.pairs, encoder)),
    ))
