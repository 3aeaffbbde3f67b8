"""Write the small COCO and Visual Genome sample: mirrors in the upstream layouts and file names.

Usage: python scripts/make_coco_vg_sample.py --out sample/coco_vg [--seed 0]

Prints the settings that point the pipeline at it (MM_COCO_URL, MM_COCO_KARPATHY_URL,
MM_VG_IMAGES_URL, MM_VG_REGIONS_URL).
"""

import argparse

from mm_assets.samples.coco.mirror import generate_coco_mirror
from mm_assets.samples.vg.mirror import generate_vg_mirror


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = {**generate_coco_mirror(args.out, seed=args.seed), **generate_vg_mirror(args.out, seed=args.seed)}
    for variable, path in settings.items():
        print(f"{variable}={path.resolve()}")


if __name__ == "__main__":
    main()
