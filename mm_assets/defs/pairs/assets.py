"""The merged pair manifest that a training loop reads: COCO, VG (MM_PAIRS_VG), the CC3M subset."""

import dagster as dg

from mm_assets.datasets.coco.upstream import SEED_DISCREPANCY
from mm_assets.datasets.pairs.cc3m import SubsetFormatError
from mm_assets.datasets.pairs.manifest import InputTableError, build_manifest
from mm_assets.defs.shared.inputs import inputs_required
from mm_assets.defs.shared.pairs_metadata import caption_encoder, pairs_metadata
from mm_assets.defs.shared.resources import ComputeResource, StorageResource
from mm_assets.defs.shared.writing import sole_writer
from mm_assets.pictures.readers import caption_lengths_markdown

from .resources import PairsSettings

RULES = "docs/data-rules.md"
CC3M_ABSENT = ("the CC3M subset is not materialized yet ($MM_DATA_ROOT/cc3m/subset.parquet is missing): "
               "the manifest holds COCO and VG only; materialize cc3m_subset, then pair_manifest again")


@dg.asset(
    key="pair_manifest",
    group_name="pairs",
    deps=["coco_pairs", "vg_pairs", "vg_concat_pairs", "cc3m_subset"],
    kinds={"parquet"},
    description="Every image-text pair in one table, source by source: COCO, VG (MM_PAIRS_VG: regions "
    "or concat), then the CC3M subset (its captions encoded by the same rule) when it is materialized. "
    f"Metadata: the thesis's Table 1 beside the measured one, the token-length histogram ({RULES}, "
    "'Pair manifest', 'Pairs tables').",
)
def pair_manifest(context: dg.AssetExecutionContext, storage: StorageResource, compute: ComputeResource,
                  pairs_settings: PairsSettings) -> dg.MaterializeResult:
    layout = storage.layout
    vg_source = "vg" if pairs_settings.vg == "regions" else "vg_concat"
    tables = {"coco": layout.coco.pairs,
              vg_source: layout.vg.pairs if vg_source == "vg" else layout.vg.concat_pairs}
    subset = layout.cc3m.subset
    included = subset.is_file()
    if not included:
        context.log.warning(CC3M_ABSENT)
    encoder = caption_encoder(layout)
    output = layout.pairs.manifest
    try:
        with sole_writer(context, output), inputs_required():
            built = build_manifest(output, tables, subset if included else None, encoder,
                                   workers=compute.worker_count, log=context.log.info)
    except (InputTableError, SubsetFormatError) as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    inputs = "\n".join(f"- {source}: `{path}`" for source, path in built.inputs.items())
    return dg.MaterializeResult(metadata=pairs_metadata(
        output, built.table, built.cc3m_drops, vg_variant=pairs_settings.vg, cc3m_included=included,
        cc3m=dg.MetadataValue.md("included" if included else CC3M_ABSENT),
        inputs=dg.MetadataValue.md(inputs), seed_figures=SEED_DISCREPANCY,
        caption_lengths=dg.MetadataValue.md(caption_lengths_markdown(output, encoder))))
