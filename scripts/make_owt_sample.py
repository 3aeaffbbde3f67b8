"""Write the small bundled OpenWebText sample: a mirror in the hub's real nested tar/xz layout.

Usage: python scripts/make_owt_sample.py --out sample/owt [--slices 0,1,5] [--bytes-per-slice N]
"""

import argparse

from mm_assets.datasets.owt.slices import parse_slice_spec
from mm_assets.samples.owt.mirror import generate_mirror


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--slices", default="0-5", help="slice numbers, e.g. 0-5 or 0,1,5")
    parser.add_argument("--bytes-per-slice", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = generate_mirror(args.out, parse_slice_spec(args.slices),
                            bytes_per_slice=args.bytes_per_slice, seed=args.seed)
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
