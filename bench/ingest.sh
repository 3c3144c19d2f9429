#!/usr/bin/env bash
# Ingest benchmark: gmmn-ingest vs `bcftools query -f '[%GT]\n'` on a >= 100k-SNP x 2,504-sample
# VCF built (once, cached in bench/work/) from data/1kg_phase3_805snp.vcf.gz.
#
#   bash bench/ingest.sh          # from the repo root, after `cargo build --release -p gmmn-ingest`
#
# Environment: BENCH_RUNS (default 3), BENCH_COPIES (default 125: 805 x 125 = 100,625 records),
# GMMN_INGEST (default target/release/gmmn-ingest).
# Prints a Markdown report. A missed target is reported, not an error; a failing tool is.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${BENCH_RUNS:-3}
COPIES=${BENCH_COPIES:-125}
INGEST=${GMMN_INGEST:-target/release/gmmn-ingest}
SRC=data/1kg_phase3_805snp.vcf.gz
WORK=bench/work
BIG=$WORK/big_805x${COPIES}.vcf.gz
STATS=$BIG.stats
OUT=$WORK/ingest-out

# --- tools -------------------------------------------------------------------------------------
need_pkgs=()
command -v bcftools >/dev/null 2>&1 || need_pkgs+=(bcftools)
command -v bgzip >/dev/null 2>&1 || need_pkgs+=(tabix)
if ((${#need_pkgs[@]})); then
    echo "installing ${need_pkgs[*]} (apt-get)" >&2
    if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
PY=$(command -v python3 || command -v python)

# --- input VCF (cached; regenerated when missing or when the generator or source changed) -------
mkdir -p "$WORK"
stamp="copies $COPIES $(sha256sum bench/make_big_vcf.py "$SRC" | awk '{print $1}' | tr '\n' ' ')"
if [[ ! -s $BIG || ! -s $STATS ]] || ! grep -qxF "stamp $stamp" "$STATS"; then
    echo "generating $BIG ($COPIES copies of $SRC) ..." >&2
    rm -f "$BIG" "$STATS"
    t0=$SECONDS
    "$PY" bench/make_big_vcf.py "$SRC" "$COPIES" --bytes-out "$WORK/bytes.tmp" \
        | bgzip -@ "$(nproc)" -c >"$BIG.tmp"
    mv "$BIG.tmp" "$BIG"
    records=$(bgzip -dc "$BIG" | grep -vc '^#')
    {
        echo "stamp $stamp"
        echo "bytes $(cat "$WORK/bytes.tmp")"
        echo "records $records"
    } >"$STATS.tmp"
    rm -f "$WORK/bytes.tmp"
    mv "$STATS.tmp" "$STATS"
    echo "generated in $((SECONDS - t0)) s: $(du -h "$BIG" | cut -f1)" >&2
fi

if [[ ! -x $INGEST ]]; then
    echo "ingest.sh: $INGEST not found; build it first: cargo build --release -p gmmn-ingest" >&2
    exit 1
fi

# --- timing and report (the report also states nproc, the CPU model and memory) ---------------
"$PY" bench/ingest_bench.py --vcf "$BIG" --stats "$STATS" --ingest "$INGEST" --out "$OUT" \
    --runs "$RUNS"

# --- BCF beside its VCF: the shipped 5k data, converted by bcftools, best of RUNS each ----------
SRC5K=data/sim_ooa4_chr22_5k.vcf.gz
BCF=$WORK/sim_ooa4_chr22_5k.bcf
[[ -s $BCF ]] || bcftools view -Ob -o "$BCF" "$SRC5K"
best() { # best FILE -> the fastest of RUNS ingests, in seconds
    local b=
    for _ in $(seq "$RUNS"); do
        rm -rf "$OUT-bcf"
        /usr/bin/time -f "%e" -o "$WORK/bcf.time" "$INGEST" "$1" --out "$OUT-bcf" --quiet >/dev/null
        b=$(awk -v b="$b" '{print (b == "" || $1 < b) ? $1 : b}' "$WORK/bcf.time")
    done
    rm -rf "$OUT-bcf"
    echo "$b"
}
vcf_s=$(best "$SRC5K")
bcf_s=$(best "$BCF")
echo
echo "BCF beside its VCF (5,000 SNPs x 1,683 samples, best of $RUNS): VCF ${vcf_s} s," \
    "BCF ${bcf_s} s, ratio $(awk -v a="$bcf_s" -v b="$vcf_s" 'BEGIN {printf "%.2f", a / b}')x"
