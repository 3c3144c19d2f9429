#!/usr/bin/env bash
# Evaluation benchmark on the sim 5k data (5,000 SNPs), split with a held-out half of each group's
# individuals: the full gmmn-discriminate run (5 splits x LR, KNN with its 12-point grid by 5-fold
# CV, MLP; plus AF/LD/AATS/identical) of held-out real against the naive simulator
# (gmmn-reference --method independent on the training half): 1,684 held-out + 1,684 synthetic
# haplotypes. Target: under 60 s on 2 cores. The same comparison with and without the privacy and
# utility figures (membership attack, AATS train/held-out, copies; ancestry classifier trained on
# synthetic), side by side: target at most 2x. Also gmmn-project (PCA + ISOMAP) on the same data.
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

if [[ ! -f $WORK/groups/CEU.heldout.parquet || ! -f $WORK/independent/CEU.vcf.gz ]]; then
    echo "== sim 5k: ingest, split with a held-out half, independent reference (once, cached in $WORK)" >&2
    rm -rf "$WORK/ingest" "$WORK/groups" "$WORK/independent"
    "$BIN/gmmn-ingest" -q data/sim_ooa4_chr22_5k.vcf.gz --out "$WORK/ingest" >/dev/null
    "$BIN/gmmn-split" -q "$WORK/ingest" --panel data/sim_ooa4_chr22_5k.panel --column pop \
        --holdout-fraction 0.5 --seed "$SEED" --out "$WORK/groups" >/dev/null
    "$BIN/gmmn-reference" -q "$WORK/groups" --method independent --seed "$SEED" --out "$WORK/independent" >/dev/null
fi
rm -rf "$WORK/discriminate" "$WORK/discriminate-no-privacy" "$WORK/project"
SYN_DIR="$WORK/independent"

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

echo "## Evaluation on sim 5k (held-out real vs naive-simulator haplotypes x 5,000 SNPs), $(nproc) cores"
echo
echo "| run | wall s | peak RSS MB | target s | wall / target |"
echo "|---|---:|---:|---:|---|"
no_privacy=$(measure "gmmn-discriminate --heldout --no-privacy: 5 splits x (LR, KNN grid + 5-fold CV, MLP) + metrics" 60 \
    "$BIN/gmmn-discriminate" -q --real "$WORK/groups" --heldout "$WORK/groups" --synthetic "$SYN_DIR" --no-privacy \
    --seed "$SEED" --out "$WORK/discriminate-no-privacy")
echo "$no_privacy"
base_s=$(echo "$no_privacy" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
measure "gmmn-discriminate --heldout: the same + privacy (membership attack, AATS train/held-out, copies) + utility" \
    "$(awk -v b="$base_s" 'BEGIN { printf "%.1f", 2 * b }')" \
    "$BIN/gmmn-discriminate" -q --real "$WORK/groups" --heldout "$WORK/groups" --synthetic "$SYN_DIR" \
    --seed "$SEED" --out "$WORK/discriminate"
echo
echo "(The second row's target is 2 x the first row's wall time: the privacy figures may at most double a comparison.)"
echo
echo "| run | wall s | peak RSS MB | target s | wall / target |"
echo "|---|---:|---:|---:|---|"
measure "gmmn-project: PCA + ISOMAP (2,000 landmarks), figures" - \
    "$BIN/gmmn-project" -q --real "$WORK/groups" --synthetic "$SYN_DIR" --seed "$SEED" --out "$WORK/project"
echo
echo "Accuracies of that run (reference, scikit-learn on the same protocol: LR 0.59, KNN 0.51, MLP 0.96, Delta 0.46):"
sed -n '/^| comparison | per side/,/^$/p' "$WORK/discriminate/report.md"
sed -n '/^## Privacy/,/^## Per group/p' "$WORK/discriminate/report.md" | sed '$d'

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
        "$BIN/gmmn-discriminate" -q --real "$WORK/groups" --heldout "$WORK/groups" --synthetic "$SYN_DIR" --no-privacy \
        --splits 1 --seed "$SEED" --out "$WORK/discriminate-1"
    echo
    echo "scikit-learn (accuracy on the test part, seconds to fit and score; VCF parsing not counted):"
    echo
    echo "| classifier | accuracy | seconds |"
    echo "|---|---:|---:|"
    "$VPY" -W ignore bench/sklearn_protocol.py --real data/sim_ooa4_chr22_5k.vcf.gz --real-panel data/sim_ooa4_chr22_5k.panel \
        --synthetic "$SYN_DIR"/*.vcf.gz --synthetic-panel "$SYN_DIR"/*.panel.tsv | grep '^|'
fi
