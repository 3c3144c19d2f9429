#!/usr/bin/env python3
"""Validation data sets beside the shipped ones: other demographies, other contigs, an admixed
group, simulated with stdpopsim/msprime, so that a configuration tuned on the shipped 5k chr22
data can be judged on data it was not tuned on (issue 14).

    .venv/bin/pip install msprime stdpopsim        # once (PyPI)
    .venv/bin/python tools/validation_data.py --out validation

writes, per data set, VALIDATION/<name>.vcf.gz (phased, bgzipped; bcftools/tabix's bgzip) and
VALIDATION/<name>.panel (`sample pop super_pop`, as data/sim_ooa4_chr22_5k.panel), ready for
`gmmn-ingest` / `gmmn-split --column pop` or a workflow spec's `input:`.

Recombination is uniform at the contig's mean rate: genetic maps cannot be downloaded here.
Sites: biallelic, minor allele frequency >= 1% over all samples, then `--snps` of them drawn
uniformly (seeded) and kept in position order, as the shipped 5k data.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np

# name: (stdpopsim model, contig, left, right, {population: diploid individuals}, what it tests)
DATA_SETS = {
    "ooa3_chr20": (
        "OutOfAfrica_3G09", "chr20", 10_000_000, 14_000_000,
        {"YRI": 300, "CEU": 300, "CHB": 300},
        "another out-of-Africa model, another chromosome",
    ),
    "africa1_chr1": (
        "Africa_1T12", "chr1", 50_000_000, 54_000_000,
        {"AFR": 600},
        "one African group: high diversity, short LD, no group structure",
    ),
    "admix4_chr7": (
        "AmericanAdmixture_4B18", "chr7", 30_000_000, 34_000_000,
        {"AFR": 250, "EUR": 250, "ASIA": 250, "ADMIX": 250},
        "an admixed group (ADMIX) beside its sources",
    ),
    "ancient3_chr3": (
        "AncientEurasia_9K19", "chr3", 60_000_000, 64_000_000,
        {"Mbuti": 250, "Sardinian": 250, "Han": 250},
        "a deep-split demography with a basal Eurasian ghost",
    ),
}


def simulate(name, seed, snps, out_dir, data_set=None):
    """Simulate DATA_SETS[name] (or `data_set`, a tuple of the same form) and keep `snps` sites
    (None: all of them)."""
    import stdpopsim

    # stdpopsim warns about renamed models and citations on every call: not our business here.
    warnings.filterwarnings("ignore", module="stdpopsim")

    model_id, chrom, left, right, sizes, _ = data_set or DATA_SETS[name]
    species = stdpopsim.get_species("HomSap")
    model = species.get_demographic_model(model_id)
    contig = species.get_contig(chrom, left=left, right=right)
    engine = stdpopsim.get_engine("msprime")
    ts = engine.simulate(model, contig, sizes, seed=seed)

    # Sample nodes in population order; two consecutive nodes are one individual.
    pops = {p.id: p.metadata["name"] for p in ts.populations()}
    genotypes, positions = [], []
    n_nodes = ts.num_samples
    min_count = int(np.ceil(0.01 * n_nodes))
    for v in ts.variants():
        if len(v.alleles) != 2 or v.alleles[1] is None:
            continue
        g = v.genotypes
        if g.max() > 1:
            continue
        c = int(g.sum())
        if min(c, n_nodes - c) < min_count:
            continue
        pos = int(v.site.position) + 1  # VCF positions are 1-based
        if positions and pos <= positions[-1]:
            continue  # one site per position
        genotypes.append(g.astype(np.uint8))
        positions.append(pos)
    rng = np.random.default_rng(seed)
    n_keep = len(positions) if snps is None else min(snps, len(positions))
    keep = np.sort(rng.choice(len(positions), size=n_keep, replace=False))
    genotypes = np.array(genotypes)[keep]
    positions = np.array(positions)[keep]

    individuals = []
    counters = {}
    for ind in ts.individuals():
        nodes = ind.nodes
        pop = pops[ts.node(nodes[0]).population]
        counters[pop] = counters.get(pop, 0) + 1
        individuals.append((f"{pop}_{counters[pop]:04d}", pop, nodes[0], nodes[1]))

    vcf = os.path.join(out_dir, f"{name}.vcf")
    with open(vcf, "w") as f:
        f.write("##fileformat=VCFv4.2\n")
        f.write(f"##source=tools/validation_data.py {name} stdpopsim HomSap/{model_id} "
                f"{chrom}:{left}-{right} uniform recombination seed {seed}\n")
        f.write(f"##contig=<ID={chrom[3:]}>\n")
        f.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
                + "\t".join(s for s, _, _, _ in individuals) + "\n")
        a = np.array([i[2] for i in individuals])
        b = np.array([i[3] for i in individuals])
        for k, pos in enumerate(positions):
            g = genotypes[k]
            gt = "\t".join(f"{x}|{y}" for x, y in zip(g[a], g[b]))
            f.write(f"{chrom[3:]}\t{pos}\t{name}_{k + 1}\tA\tG\t.\tPASS\t.\tGT\t{gt}\n")
    if shutil.which("bgzip") is None:
        sys.exit("bgzip not found (Debian package tabix; `make bcftools` installs it)")
    subprocess.run(["bgzip", "-f", vcf], check=True)
    with open(os.path.join(out_dir, f"{name}.panel"), "w") as f:
        f.write("sample\tpop\tsuper_pop\n")
        for s, pop, _, _ in individuals:
            f.write(f"{s}\t{pop}\t{pop}\n")
    return len(positions), len(individuals)


def write_spec(template, name, out_dir):
    """The validation spec for one data set: `template` (workflows/validation.yaml) with its
    name and input swapped, everything else (the configuration) unchanged."""
    text = open(template).read()
    vcf = os.path.abspath(os.path.join(out_dir, f"{name}.vcf.gz"))
    panel = os.path.abspath(os.path.join(out_dir, f"{name}.panel"))
    text, n1 = re.subn(r"(?m)^name: .*$", f"name: {name}", text, count=1)
    text, n2 = re.subn(r"(?m)^  vcf: .*$", f"  vcf: {vcf}", text, count=1)
    text, n3 = re.subn(r"(?m)^  panel: .*$", f"  panel: {panel}", text, count=1)
    if (n1, n2, n3) != (1, 1, 1):
        sys.exit(f"{template}: expected one `name:`, one `  vcf:` and one `  panel:` line")
    spec = os.path.join(out_dir, f"{name}.yaml")
    with open(spec, "w") as f:
        f.write(f"# Written by tools/validation_data.py from {template}; edit that one.\n")
        f.write(text)
    return spec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--snps", type=int, default=5000, help="SNPs kept per data set (5000)")
    ap.add_argument("--seed", type=int, default=1, help="simulation and SNP-choice seed (1)")
    ap.add_argument("--only", nargs="*", choices=sorted(DATA_SETS), help="a subset of the data sets")
    ap.add_argument("--spec", help="also write OUT/<name>.yaml from this workflow spec template")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.only or DATA_SETS:
        snps, individuals = simulate(name, args.seed, args.snps, args.out)
        print(f"{name}: {snps} SNPs x {individuals} individuals ({DATA_SETS[name][5]})")
        if args.spec:
            print(f"  spec: {write_spec(args.spec, name, args.out)}")


if __name__ == "__main__":
    main()
