#!/usr/bin/env bash
# Scaling in SNPs: the GMMN path (window features, block-diagonal generator) on prefixes of a
# simulated chromosome arm, M = 5k, 20k, 50k, 100k SNPs (`BENCH_SNPS`), one group of 500
# individuals (tools/scaling_data.py, msprime; pip-installed into .venv on first use). For each M:
# gmmn-ingest, gmmn-split, gmmn-sketch, gmmn-train (`BENCH_STEPS` steps, default 20) and
# gmmn-sample (1,000 individuals), each timed with its peak RSS; then gmmn-bench-train times a
# step of the same shape beside its GEMM floor (each batched GEMM of the step timed alone), so
# the table says how much of a step is the floor and how much is overhead.
#
#   bash bench/scaling.sh        # from the repo root, after `make build-release`
#
# The shape grows with M at a fixed density: one generator block per 250 SNPs (K = M / 250),
# 128 hidden units and 32 latent coordinates per block, windows of 64 SNPs (stride 32) with 64
# features each: the best GMMN configuration of workflows/table1.yaml (local-window: K 20,
# H 2,560, Z 640 at 5,000 SNPs). Nothing is D x M: the sketch and the trainer's features go
# window by window, the generator block by block.
# Prints a Markdown table.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SNPS=${BENCH_SNPS:-5000 20000 50000 100000}
STEPS=${BENCH_STEPS:-20}
BIN=target/release
WORK=bench/work/scaling
VENV=.venv
mkdir -p "$WORK"
for b in gmmn-ingest gmmn-split gmmn-sketch gmmn-train gmmn-sample gmmn-bench-train; do
    [[ -x $BIN/$b ]] || { echo "scaling.sh: $BIN/$b not found; run make build-release" >&2; exit 1; }
done

# --- the data (cached) ----------------------------------------------------------------------------
VCF=$WORK/arm_chr1.vcf.gz
if [[ ! -s $VCF ]]; then
    command -v bgzip >/dev/null || { echo "scaling.sh: bgzip is needed (make bcftools)" >&2; exit 1; }
    "$VENV/bin/python" -c "import msprime, stdpopsim" 2>/dev/null \
        || "$VENV/bin/pip" install --quiet --disable-pip-version-check msprime stdpopsim
    "$VENV/bin/python" tools/scaling_data.py --out "$WORK"
fi

timed() { # timed NAME CMD... -> NAME.time holds "seconds max_rss_kib"
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$WORK/$name.time" "$@" >"$WORK/$name.log" 2>&1 \
        || { cat "$WORK/$name.log" >&2; exit 1; }
}
field() { # field NAME N -> the Nth number of NAME.time
    awk -v n="$2" '{print $n}' "$WORK/$1.time"
}

configs=()
rows=()
for m in $SNPS; do
    k=$((m / 250))
    h=$((128 * k))
    z=$((32 * k))
    d=$WORK/m$m
    rm -rf "$d"
    timed "m$m.ingest" "$BIN/gmmn-ingest" "$VCF" --max-snps "$m" --out "$d/ingest" --quiet
    timed "m$m.split" "$BIN/gmmn-split" "$d/ingest" --panel "$WORK/arm_chr1.panel" --column pop \
        --out "$d/groups" --quiet
    timed "m$m.sketch" "$BIN/gmmn-sketch" "$d/groups/CEU.parquet" --features window --window 64 \
        --per-window 64 --identity-block --identity-weight 50 --restarts 1 --out "$d/sketch" --quiet
    timed "m$m.train" "$BIN/gmmn-train" "$d/sketch" --out "$d/model" --output quantizer \
        --restart-every 0 --steps "$STEPS" --hidden "$h" --latent "$z" --local-blocks "$k" \
        --mask-monomorphic --checkpoint-every 0
    timed "m$m.sample" "$BIN/gmmn-sample" "$d/model" --individuals 1000 --formats parquet \
        --out "$d/synthetic" --quiet
    per_step=$(grep -o '[0-9.]* s/step' "$WORK/m$m.train.log" | tail -n 1 | cut -d' ' -f1)
    sketch_mb=$(du -m "$d/sketch/sketch.npy" | cut -f1)
    rows+=("| $m | $k | $h | $z | $(field m$m.ingest 1) | $(field m$m.sketch 1) | $(( $(field m$m.sketch 2) / 1024 )) | ${sketch_mb} | $per_step | $(( $(field m$m.train 2) / 1024 )) | $(field m$m.sample 1) | $(( $(field m$m.sample 2) / 1024 )) |")
    configs+=("m$m:$m:$h:$z:512:$k:64:64")
done

echo "Scaling in SNPs: one group of 500 individuals (1,000 haplotypes), prefixes of a 75 Mb chromosome"
echo "arm (tools/scaling_data.py); window features (64 SNPs, stride 32, 64 features each, AF block),"
echo "block-diagonal generator (K = M / 250 blocks, 128 hidden and 32 latent per block), batch 512."
echo
echo "| M (SNPs) | K | H | Z | ingest s | sketch s | sketch peak MiB | sketch.npy MB | train s/step ($STEPS steps) | train peak MiB | sample 1,000 ind. s | sample peak MiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "A step of the same shape on random data beside its GEMM floor (gmmn-bench-train):"
echo
(IFS=,; "$BIN/gmmn-bench-train" --steps 3 --configs "${configs[*]}")
