"""`pair_examples`: a contact sheet of sampled pairs per source, to look at before training."""

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mm_assets.common.atomic import atomic_write
from mm_assets.datasets.pairs.table import SOURCES
from mm_assets.defs.shared.inputs import gpt2_bpe_files, missing_input
from mm_assets.defs.shared.pairs_metadata import caption_encoder
from mm_assets.defs.shared.resources import StorageResource
from mm_assets.defs.shared.writing import sole_writer
from mm_assets.pictures.png import markdown_image, write_png
from mm_assets.text.decode import TokenDecoder

from .assets import pair_manifest
from .resources import PairsSettings

SHEET = "pair_examples.png"
LISTING = "pair_examples.json"


def example_tables(layout) -> dict:
    """source -> the table its examples are drawn from: the manifest for the sources it holds (so
    the crops are the loader's own for those rows), the VG variant it left out from its own table."""
    manifest = layout.pairs.manifest
    if not manifest.is_file():
        raise missing_input(manifest, "pair_manifest")
    held = set(pc.unique(pq.read_table(manifest, columns=["source"])["source"]).to_pylist())
    own = {"coco": layout.coco.pairs, "vg": layout.vg.pairs, "vg_concat": layout.vg.concat_pairs}
    return {source: manifest if source in held else own[source] for source in SOURCES
            if source in held or (source in own and own[source].is_file())}


@dg.asset(
    key="pair_examples",
    group_name="pairs",
    deps=[pair_manifest, "vg_pairs", "vg_concat_pairs"],
    kinds={"png"},
    description="A contact sheet of MM_PAIR_EXAMPLES_PER_SOURCE pairs per source (COCO, VG regions, VG "
    "concat, CC3M), chosen by MM_PAIR_EXAMPLES_SEED: the image with its crop boxes, the training "
    "augmentation at crop scales (0.08, 1), (0.6, 1) and (0.9, 1) from the same seed, and the caption "
    "as its tokens decode, a cut at 64 tokens marked. pairs/examples/pair_examples.png (and .json); "
    "shown on this page (docs/pictures.md).",
)
def pair_examples(context: dg.AssetExecutionContext, storage: StorageResource,
                  pairs_settings: PairsSettings) -> dg.MaterializeResult:
    layout = storage.layout
    per_source = pairs_settings.integer("examples_per_source", 1, 50)
    seed = pairs_settings.integer("examples_seed", 0, 2**63 - 1)
    tables = example_tables(layout)
    encoder = caption_encoder(layout)
    decoder = TokenDecoder(gpt2_bpe_files(layout))
    # Imported here: the sheet's crops run the torch transforms, and loading the definitions (every
    # step, the code server) must not pay for torch.
    from mm_assets.pictures.contact_sheet import build_rows, examples_json, render_sheet, sample_examples, sheet_png

    examples = sample_examples(tables, layout.root, per_source, seed)
    rows = build_rows(examples, layout.root, decoder, encoder, seed)
    png = sheet_png(render_sheet(rows, seed))
    folder = layout.pairs.examples_dir
    with sole_writer(context, folder / SHEET, folder / SHEET, folder / LISTING):
        write_png(folder / SHEET, png)
        with atomic_write(folder / LISTING) as handle:
            handle.write(examples_json(rows, seed))
    shown = {source: sum(1 for e in examples if e.source == source) for source in SOURCES}
    return dg.MaterializeResult(metadata={
        "sheet": dg.MetadataValue.md(markdown_image(png, "pair examples")),
        "path": dg.MetadataValue.path(str(folder / SHEET)),
        "listing": dg.MetadataValue.path(str(folder / LISTING)),
        "png_bytes": len(png),
        "seed": seed,
        **{f"examples_{source}": count for source, count in shown.items()},
        "cut_captions_shown": sum(1 for row in rows if row.caption.cut),
        "drawn_from": dg.MetadataValue.md("\n".join(
            f"- {source}: `{path.relative_to(layout.root)}`" for source, path in tables.items())),
    })
