"""Write the small CC3M sample: images and an index of URL paths that `serve_cc3m_sample.py` serves.

About 30 % of the rows fail as real CC3M links do (404s, dead hosts, error pages, placeholders,
cut bodies, redirect loops, ...); see `mm_assets/samples/cc3m/sample.py`.

Usage: python scripts/make_cc3m_sample.py --out sample/cc3m [--rows 120] [--seed 0]
"""

import argparse
from pathlib import Path

from mm_assets.samples.cc3m.sample import generate_sample, write_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--failure-share", type=float, default=0.3)
    args = parser.parse_args()
    sample = generate_sample(args.rows, seed=args.seed, failure_share=args.failure_share)
    files, paths = write_sample(sample, Path(args.out))
    print(f"wrote {len(sample.rows)} index rows to {paths} and {len(sample.images)} images to {files}")


if __name__ == "__main__":
    main()
