#!/usr/bin/env bash
# Output at scale: gmmn-sample writing a million synthetic individuals of one group at 5,000 SNPs
# as a bgzipped, tabix-indexed VCF and a PLINK 1 fileset, beside `bcftools view -Oz` writing a
# VCF of the same size (it reads ours and writes it again, so its time also includes parsing:
# an upper bound on what bcftools needs to write one), side by side in one run.
#
#   bash bench/simulate.sh        # from the repo root, after `make build-release`
#
# Environment: BENCH_INDIVIDUALS (default 1000000), BENCH_GROUP (default CEU of the shipped 5k
# chr22 data). The model is the Markov chain of the group's pattern sketch (the configuration
# `gmmn simulate` trains), made once and cached in bench/work/simulate/.
# Prints a Markdown report: seconds, individuals/s, peak RSS, file sizes, the ratio.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${BENCH_INDIVIDUALS:-1000000}
GROUP=${BENCH_GROUP:-CEU}
BIN=target/release
WORK=bench/work/simulate
mkdir -p "$WORK"
command -v bcftools >/dev/null || { echo "simulate.sh: bcftools is needed (make bcftools)" >&2; exit 1; }
for b in gmmn-ingest gmmn-split gmmn-sketch gmmn-train gmmn-sample; do
    [[ -x $BIN/$b ]] || { echo "simulate.sh: $BIN/$b not found; run make build-release" >&2; exit 1; }
done

# --- the model (cached) ---------------------------------------------------------------------------
if [[ ! -s $WORK/model/model.safetensors ]]; then
    "$BIN/gmmn-ingest" data/sim_ooa4_chr22_5k.vcf.gz --out "$WORK/ingest" --quiet
    "$BIN/gmmn-split" "$WORK/ingest" --panel data/sim_ooa4_chr22_5k.panel --column pop \
        --groups "$GROUP" --out "$WORK/groups" --quiet
    "$BIN/gmmn-sketch" "$WORK/groups/$GROUP.parquet" --features patterns --order 100 --min-count 5 \
        --out "$WORK/sketch" --quiet
    "$BIN/gmmn-train" "$WORK/sketch" --out "$WORK/model" --quiet
fi

# --- timed runs: wall seconds and peak RSS (KiB) from GNU time ---------------------------------
timed() { # timed NAME CMD... -> NAME.time holds "seconds max_rss_kib"
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$WORK/$name.time" "$@" 2>"$WORK/$name.log" \
        || { cat "$WORK/$name.log" >&2; exit 1; }
}
rm -rf "$WORK/out" "$WORK/bcftools.vcf.gz"
timed sample "$BIN/gmmn-sample" "$WORK/model" --individuals "$N" --formats vcf,plink \
    --out "$WORK/out" --seed 1
timed bcftools bcftools view -Oz -o "$WORK/bcftools.vcf.gz" "$WORK/out/$GROUP.vcf.gz"

read -r s_sec s_rss <"$WORK/sample.time"
read -r b_sec b_rss <"$WORK/bcftools.time"
drew=$(grep -o 'drew .* in [0-9.]* s' "$WORK/sample.log" | grep -o '[0-9.]* s$' || true)
wrote=$(grep -o 'wrote .* in [0-9.]* s' "$WORK/sample.log" | grep -o '[0-9.]* s$' || true)
size() { du -h "$1" | cut -f1; }
snps=$(wc -l <"$WORK/out/$GROUP.bim")
samples=$(bcftools query -l "$WORK/out/$GROUP.vcf.gz" | wc -l)
python3 - "$N" "$s_sec" "$s_rss" "$b_sec" "$b_rss" <<EOF
import sys
n, s, srss, b, brss = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
print(f"## Output at scale: {n:,} individuals of $GROUP x $snps SNPs ($(nproc) cores)")
print()
print("| step | seconds | individuals/s | peak RSS | output |")
print("|---|---:|---:|---:|---|")
print(f"| gmmn-sample --formats vcf,plink (draw $drew, write $wrote) | {s:.1f} | {n / s:,.0f} | {srss / 2**20:.2f} GiB | VCF $(size "$WORK/out/$GROUP.vcf.gz") + .tbi, .bed $(size "$WORK/out/$GROUP.bed") |")
print(f"| bcftools view -Oz (reads that VCF, writes it again) | {b:.1f} | {n / b:,.0f} | {brss / 2**20:.2f} GiB | VCF $(size "$WORK/bcftools.vcf.gz") |")
print()
print(f"gmmn-sample / bcftools: {s / b:.2f}x the time; the bit matrix held is {2 * n * $snps / 8 / 2**30:.2f} GiB "
      f"(a byte per allele would be {2 * n * $snps / 2**30:.1f} GiB). bcftools counts $samples samples in our VCF.")
EOF
