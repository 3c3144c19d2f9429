#!/usr/bin/env bash
# Evaluation benchmark: the full gmmn-discriminate run (5 splits x LR, KNN with its 12-point grid
# by 5-fold CV, MLP; plus AF/LD/AATS/identical) on the sim 5k data, real against the naive
# simulator: 3,366 real + 3,366 synthetic haplotypes x 5,000 SNPs. Target: under 60 s on 2 cores.
# Also gmmn-project (PCA + ISOMAP) on the same data.
#
#   bash bench/evaluate.sh        # from the repo root, after `make build-release`
#
# Wall time and peak RSS of each binary come from os.wait4 on the direct child (bench/ingest_bench.py
# does the same). Prints a Markdown table. A missed target is reported, not an error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${GMMN_BIN:-target/release}
WORK=bench/work/evaluate
SEED=${BENCH_SEED:-1}
PY=$(command -v python3 || command -v python)
mkdir -p "$WORK"

if [[ ! -f $WORK/groups/CEU.parquet ]]; then
    echo "== sim 5k: ingest and split (once, cached in $WORK)" >&2
    "$BIN/gmmn-ingest" -q data/sim_ooa4_chr22_5k.vcf.gz --out "$WORK/ingest" >/dev/null
    "$BIN/gmmn-split" -q "$WORK/ingest" --panel data/sim_ooa4_chr22_5k.panel --column pop --out "$WORK/groups" >/dev/null
fi
rm -rf "$WORK/discriminate" "$WORK/project"

# name, target seconds (or -), command...
measure() {
    "$PY" - "$@" <<'PYEOF'
import os, subprocess, sys, time
name, target, *cmd = sys.argv[1:]
t0 = time.perf_counter()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
wall = time.perf_counter() - t0
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit(f"{name}: {' '.join(cmd)} failed")
rss = ru.ru_maxrss / 1024
if target == "-":
    print(f"| {name} | {wall:.1f} | {rss:.0f} | - | - |")
else:
    t = float(target)
    verdict = "met" if wall <= t else "MISSED"
    print(f"| {name} | {wall:.1f} | {rss:.0f} | {t:.0f} | {wall / t:.2f} ({verdict}) |")
PYEOF
}

echo "## Evaluation on sim 5k (3,366 real + 3,366 naive-simulator haplotypes x 5,000 SNPs), $(nproc) cores"
echo
echo "| run | wall s | peak RSS MB | target s | wall / target |"
echo "|---|---:|---:|---:|---|"
measure "gmmn-discriminate: 5 splits x (LR, KNN grid + 5-fold CV, MLP) + metrics" 60 \
    "$BIN/gmmn-discriminate" -q --real "$WORK/groups" --baseline independent --seed "$SEED" --out "$WORK/discriminate"
measure "gmmn-project: PCA + ISOMAP (2,000 landmarks), figures" - \
    "$BIN/gmmn-project" -q --real "$WORK/groups" --synthetic "$WORK/discriminate/independent.vcf.gz" \
    --synthetic-panel "$WORK/discriminate/independent.panel.tsv" --seed "$SEED" --out "$WORK/project"
echo
echo "Accuracies of that run (reference, scikit-learn on the same protocol: LR 0.59, KNN 0.51, MLP 0.96, Delta 0.46):"
sed -n '/^| comparison | per side/,/^$/p' "$WORK/discriminate/report.md"

if [[ ${1:-} == --sklearn ]]; then
    VPY=.venv/bin/python
    [[ -x $VPY ]] || VPY=$PY
    "$VPY" -c "import sklearn" 2>/dev/null || "$VPY" -m pip install --quiet --disable-pip-version-check scikit-learn
    echo
    echo "## The same protocol in scikit-learn, one split, side by side"
    echo
    echo "| run | wall s | peak RSS MB | target s | wall / target |"
    echo "|---|---:|---:|---:|---|"
    rm -rf "$WORK/discriminate-1"
    measure "gmmn-discriminate --splits 1 (classifiers + metrics)" - \
        "$BIN/gmmn-discriminate" -q --real "$WORK/groups" --baseline independent --splits 1 --seed "$SEED" --out "$WORK/discriminate-1"
    echo
    echo "scikit-learn (accuracy on the test part, seconds to fit and score; VCF parsing not counted):"
    echo
    echo "| classifier | accuracy | seconds |"
    echo "|---|---:|---:|"
    "$VPY" -W ignore bench/sklearn_protocol.py --real data/sim_ooa4_chr22_5k.vcf.gz --real-panel data/sim_ooa4_chr22_5k.panel \
        --synthetic "$WORK/discriminate/independent.vcf.gz" --synthetic-panel "$WORK/discriminate/independent.panel.tsv" | grep '^|'
fi
