#!/usr/bin/env python3
"""Write a large VCF (plain text, to stdout) by replicating a small phased GT-only VCF.

Usage: make_big_vcf.py SOURCE.vcf.gz COPIES [--bytes-out FILE] > big.vcf

Every record of SOURCE is written COPIES times. Within each chromosome the output is
copy-major (copy 0's records in their original order, then copy 1's, ...) and the positions
are rewritten to 1000 * (rank within the chromosome) + 1, so each chromosome stays strictly
sorted by POS and the file stays a valid, sorted VCF (the header, ##contig lines included, is
copied unchanged; chromosome order is that of SOURCE). IDs are rewritten as CHR:POS_REF_ALT.

To keep the copies from being byte-identical (which would make compression unrealistically
easy), copy k rotates the sample columns by k * 211 samples, and odd copies swap REF/ALT and
flip every allele (0 <-> 1), which stays a consistent biallelic SNP. Only the standard library
is used; the total number of bytes written is stored in --bytes-out if given.
"""

from __future__ import annotations

import argparse
import gzip
import sys

ROTATE_STEP = 211  # samples; coprime with 2504 so the 125 copies get distinct rotations
FLIP = str.maketrans("01", "10")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("copies", type=int)
    ap.add_argument("--bytes-out", help="write the number of bytes emitted to this file")
    args = ap.parse_args()
    if args.copies < 1:
        ap.error("COPIES must be at least 1")

    header: list[str] = []
    # chromosome -> list of (ref, alt, genotype fields joined by tabs); chromosome order kept
    by_chrom: dict[str, list[tuple[str, str, str]]] = {}
    n_samples = None
    with gzip.open(args.source, "rt", newline="\n") as f:
        for line in f:
            if line.startswith("#"):
                header.append(line)
                continue
            fields = line.rstrip("\n").split("\t")
            if n_samples is None:
                n_samples = len(fields) - 9
            elif len(fields) - 9 != n_samples:
                sys.exit(f"make_big_vcf: inconsistent sample count at {fields[0]}:{fields[1]}")
            if len(fields[3]) != 1 or len(fields[4]) != 1:
                sys.exit(f"make_big_vcf: {fields[0]}:{fields[1]} is not a biallelic SNP")
            if fields[8] != "GT":
                sys.exit(f"make_big_vcf: {fields[0]}:{fields[1]} FORMAT is not GT-only")
            by_chrom.setdefault(fields[0], []).append((fields[3], fields[4], fields[9:]))
    if not n_samples:
        sys.exit("make_big_vcf: no sample columns / no records in source")

    # Pre-join each record's genotypes; when every field has the same width, rotating the
    # sample columns is two string slices instead of a list join.
    prepared: dict[str, list[tuple[str, str, str, int]]] = {}
    for chrom, recs in by_chrom.items():
        out = []
        for ref, alt, gts in recs:
            widths = {len(g) for g in gts}
            width = widths.pop() + 1 if len(widths) == 1 else 0  # field + tab, 0 = ragged
            out.append((ref, alt, "\t".join(gts), width))
        prepared[chrom] = out

    w = sys.stdout.buffer
    total = 0
    head = "".join(header).encode()
    w.write(head)
    total += len(head)
    for chrom, recs in prepared.items():
        rank = 0
        n = len(recs)
        for k in range(args.copies):
            shift = (k * ROTATE_STEP) % n_samples
            flip = k % 2 == 1
            chunk = []
            for ref, alt, gts, width in recs:
                rank += 1
                pos = 1000 * rank + 1
                if shift:
                    if width:
                        cut = shift * width
                        gts = gts[cut:] + "\t" + gts[: cut - 1]
                    else:
                        parts = gts.split("\t")
                        gts = "\t".join(parts[shift:] + parts[:shift])
                if flip:
                    ref, alt = alt, ref
                    gts = gts.translate(FLIP)
                chunk.append(f"{chrom}\t{pos}\t{chrom}:{pos}_{ref}_{alt}\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{gts}\n")
            data = "".join(chunk).encode()
            w.write(data)
            total += len(data)
            del chunk, data
        assert rank == n * args.copies
    w.flush()
    if args.bytes_out:
        with open(args.bytes_out, "w") as f:
            f.write(f"{total}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
