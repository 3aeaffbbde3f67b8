"""Write the small ImageNet and GLUE samples: local mirrors laid out like the hub repositories.

`--imagenet-out`: `data/{train,validation,test}-NNNNN-of-MMMMM.parquet` as in ILSVRC/imagenet-1k,
real JPEGs (photo-like content, ImageNet-like sizes, a grayscale, a CMYK, a PNG named .JPEG and
one truncated image) for five classes. `--glue-out`: `<task>/<split>-00000-of-00001.parquet` as in
nyu-mll/glue for all nine tasks, English-like sentences plus the edge cases.

Usage: python scripts/make_imagenet_glue_sample.py --imagenet-out sample/imagenet --glue-out sample/glue
"""

import argparse

from mm_assets.samples.glue.mirror import generate_mirror as generate_glue
from mm_assets.samples.imagenet.mirror import generate_mirror as generate_imagenet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imagenet-out", required=True)
    parser.add_argument("--glue-out", required=True)
    parser.add_argument("--train-per-class", type=int, default=6)
    parser.add_argument("--glue-rows", type=int, default=40, help="rows of each non-train split (train: twice)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for path in generate_imagenet(args.imagenet_out, train_per_class=args.train_per_class, seed=args.seed):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    glue = generate_glue(args.glue_out, rows=args.glue_rows, seed=args.seed)
    print(f"wrote {len(glue)} GLUE files under {args.glue_out} ({sum(p.stat().st_size for p in glue):,} bytes)")


if __name__ == "__main__":
    main()
