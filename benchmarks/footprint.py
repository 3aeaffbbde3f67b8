"""Bytes left under the data root with MM_RAW_FILES=keep and =release, side by side.

Materializes, in process through the real definitions, on the bundled samples (`make sample`):
gpt2_bpe, the OWT chain for slices 0-5 and owt_fairseq_data, then the COCO and VG image zips and
their folders; once per setting, each in a fresh data root. Prints the bytes per folder. The
fairseq judge is left out (its check fails fast for want of an interpreter): it reads, it does
not write.

    .venv/bin/python benchmarks/footprint.py [--sample sample] [--bpe <folder or URL>]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402

from mm_assets.definitions import defs  # noqa: E402
from mm_assets.defs.coco.resources import CocoSource  # noqa: E402
from mm_assets.defs.owt.resources import OwtSource  # noqa: E402
from mm_assets.defs.shared.resources import ComputeResource, FairseqJudgeResource, StorageResource  # noqa: E402
from mm_assets.defs.tokenizer.resources import Gpt2BpeSource  # noqa: E402
from mm_assets.defs.vg.resources import VgSource  # noqa: E402

FOLDERS = ("owt/raw", "owt/clean", "owt/binarized", "owt/fairseq", "coco/raw", "coco/images", "vg/raw", "vg/images")


def bytes_under(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def build(root: Path, mode: str, sample: Path, bpe: str) -> dict[str, int]:
    instance = dg.DagsterInstance.ephemeral()
    coco_vg = sample / "coco_vg"
    resources = {
        **defs.resources,
        "storage": StorageResource(data_root=str(root), raw_files=mode),
        "compute": ComputeResource(workers="2"),
        "fairseq_judge": FairseqJudgeResource(python=str(root / "no-interpreter")),
        "owt_source": OwtSource(url=str(sample / "owt"), train_slices="0-4", valid_slices="5"),
        "gpt2_bpe_source": Gpt2BpeSource(url=bpe),
        "coco_source": CocoSource(url=str(coco_vg / "coco"), karpathy_url=str(coco_vg / "karpathy/caption_datasets.zip")),
        "vg_source": VgSource(images_url=str(coco_vg / "vg/images"),
                              regions_url=str(coco_vg / "vg/regions/region_descriptions.json.zip")),
    }

    def materialize(selection, partition_key=None):
        dg.materialize([*defs.assets, *defs.asset_checks], selection=selection, partition_key=partition_key,
                       resources=resources, instance=instance)

    materialize("gpt2_bpe")
    for number in range(6):
        materialize(dg.AssetSelection.assets("owt_raw_slice", "owt_clean_slice", "owt_binarized_slice"), f"{number:02d}")
    materialize("owt_fairseq_data")
    materialize(dg.AssetSelection.assets("coco_train2014_zip", "coco_val2014_zip", "coco_images"))
    materialize(dg.AssetSelection.assets("vg_images_zip", "vg_images2_zip", "vg_images"))
    return {folder: bytes_under(root / folder) for folder in FOLDERS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=REPO / "sample")
    parser.add_argument("--bpe", default=os.environ.get("MM_GPT2_BPE_URL", str(REPO.parent / "shared" / "gpt2_bpe")),
                        help="URL or folder of the GPT-2 BPE files (default: MM_GPT2_BPE_URL, else ../shared/gpt2_bpe)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mm-footprint-"))
    try:
        sizes = {mode: build(work / mode, mode, args.sample, args.bpe) for mode in ("keep", "release")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| folder | keep (bytes) | release (bytes) |\n| --- | ---: | ---: |")
    for folder in FOLDERS:
        print(f"| `{folder}` | {sizes['keep'][folder]:,} | {sizes['release'][folder]:,} |")
    print(f"| all of these | {sum(sizes['keep'].values()):,} | {sum(sizes['release'].values()):,} |")


if __name__ == "__main__":
    main()
