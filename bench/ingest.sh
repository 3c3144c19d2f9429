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
exec "$PY" bench/ingest_bench.py --vcf "$BIG" --stats "$STATS" --ingest "$INGEST" --out "$OUT" \
    --runs "$RUNS"
