#!/usr/bin/env python3
"""A chromosome arm for the SNP-scaling study of docs/performance.md: one group of 500
individuals (CEU of stdpopsim's HomSap/OutOfAfrica_3G09) over the first 75 Mb of chr1 (its p
arm is 123 Mb), simulated with msprime, every biallelic site with minor allele frequency >= 1%
kept (105,129 with the default seed), in position order. `bench/scaling.sh` (run by `make bench`) takes prefixes of it
(M = 5k, 20k, 50k, 100k SNPs) through ingest, sketch, train and sample.

    .venv/bin/pip install msprime stdpopsim        # once (PyPI)
    .venv/bin/python tools/scaling_data.py --out bench/work/scaling

writes OUT/arm_chr1.vcf.gz (phased, bgzipped) and OUT/arm_chr1.panel. Not shipped: 13 MB,
and two minutes to make on 2 cores. Recombination is uniform at the contig's mean rate (genetic
maps cannot be downloaded here), as in tools/validation_data.py, whose simulation this reuses.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import validation_data  # noqa: E402

ARM = (
    "OutOfAfrica_3G09", "chr1", 0, 75_000_000,
    {"CEU": 500},
    "one group over a chromosome arm (SNP scaling)",
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=1, help="simulation seed (1)")
    ap.add_argument("--right", type=int, default=ARM[3], help="end of the region in bp (75 Mb)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    arm = ARM[:3] + (args.right,) + ARM[4:]
    snps, individuals = validation_data.simulate("arm_chr1", args.seed, None, args.out, arm)
    print(f"arm_chr1: {snps} SNPs x {individuals} individuals ({ARM[5]})")


if __name__ == "__main__":
    main()
