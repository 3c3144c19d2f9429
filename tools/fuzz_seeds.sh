#!/usr/bin/env bash
# Seed corpora of the fuzz targets (fuzz/seeds/<target>/) and the template manifests the model,
# chain and sketch targets read beside the fuzzed bytes (crates/fuzz-targets/templates/), all cut
# from the shipped data by the stage binaries themselves. Committed; rerun after a format change:
#   tools/fuzz_seeds.sh [BIN_DIR]   (default target/debug; `cargo build --workspace --bins` first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/debug}
SEEDS=fuzz/seeds
TEMPLATES=crates/fuzz-targets/templates
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
rm -rf "$SEEDS"
mkdir -p "$SEEDS"/{vcf,vcf_bgzf,panel,manifest,spec,sketch,model,chain_model,parquet} "$TEMPLATES"

# Small VCFs: the header and a few records of each shipped VCF, cut to 12 samples.
for v in data/1kg_phase3_805snp.vcf.gz data/sim_ooa4_chr22_5k.vcf.gz; do
  name=$(basename "$v" .vcf.gz)
  { gzip -dc "$v" || true; } | awk -F'\t' 'BEGIN{OFS="\t"} /^##/ {print; next} {n++; if (n > 6) exit; NF=21; print}' \
    > "$SEEDS/vcf/$name.vcf"
  cp "$SEEDS/vcf/$name.vcf" "$SEEDS/vcf_bgzf/$name.vcf"
  bgzip -c "$SEEDS/vcf/$name.vcf" > "$SEEDS/vcf/$name.vcf.gz"
  gzip -c "$SEEDS/vcf/$name.vcf" > "$SEEDS/vcf/$name.plain.gz"
done
for p in data/*.panel; do head -n 13 "$p" > "$SEEDS/panel/$(basename "$p")"; done
cp workflows/*.yaml "$SEEDS/spec/"

# Tiny artifacts: 24 SNPs of EUR, a window sketch, a GMMN of 4 hidden units, a chain model.
"$BIN/gmmn-ingest" data/1kg_phase3_805snp.vcf.gz --max-snps 24 --out "$T/ingest" -q
"$BIN/gmmn-split" "$T/ingest" --panel data/1kg_phase3.panel --groups EUR,EAS --out "$T/groups" -q
"$BIN/gmmn-sketch" "$T/groups/EUR.parquet" --features relu --multiplier 1 --restarts 2 --out "$T/relu" -q
"$BIN/gmmn-sketch" "$T/groups/EUR.parquet" --features patterns --order 4 --min-count 20 --out "$T/patterns" -q
"$BIN/gmmn-train" "$T/relu" --steps 2 --hidden 4 --latent 2 --batch 8 --checkpoint-every 0 --device cpu --out "$T/model" -q
"$BIN/gmmn-train" "$T/patterns" --out "$T/chain" -q

cp "$T/relu/sketch.npy" "$SEEDS/sketch/relu.npy"
cp "$T/relu/sketch.npy.meta.yaml" "$TEMPLATES/sketch.npy.meta.yaml"
cp "$T/model/model.safetensors" "$SEEDS/model/gmmn.safetensors"
cp "$T/model/model.safetensors.meta.yaml" "$TEMPLATES/model.safetensors.meta.yaml"
cp "$T/chain/model.safetensors" "$SEEDS/chain_model/chain.safetensors"
cp "$T/chain/model.safetensors.meta.yaml" "$TEMPLATES/chain.safetensors.meta.yaml"
{ printf '\0'; cat "$T/groups/EUR.parquet"; } > "$SEEDS/parquet/genotypes.parquet"
{ printf '\1'; cat "$T/groups/EUR.variants.parquet"; } > "$SEEDS/parquet/variants.parquet"
# One manifest of each artifact these stages write.
for f in "$T/ingest/genotypes.parquet" "$T/ingest/variants.parquet" "$T/groups/EUR.parquet" \
         "$T/relu/sketch.npy" "$T/patterns/sketch.npy" "$T/model/model.safetensors" \
         "$T/model/loss.csv" "$T/chain/model.safetensors"; do
  m="$f.meta.yaml"
  cp "$m" "$SEEDS/manifest/$(basename "$(dirname "$f")")-$(basename "$m")"
done
du -sh "$SEEDS" "$TEMPLATES"
