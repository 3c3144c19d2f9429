# gmmn-sim: the two commands a new user needs are `make reproduce` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
OUT ?= out
RELEASE_BINS := target/release/gmmn-ingest target/release/gmmn-split
DATA := data

.PHONY: help setup build build-release test reproduce bench clean

help:
	@echo "make reproduce   set up, build and run the pipeline on the shipped data (results in $(OUT)/)"
	@echo "make test        build and run every test"
	@echo "make bench       ingest throughput and memory, side by side with bcftools"
	@echo "make setup       check the toolchain and fetch dependencies"

# What the build needs beyond a Rust toolchain: nothing yet (libtorch arrives with the trainer).
setup:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust from rustup.rs" >&2; exit 1; }
	$(CARGO) fetch --locked

build: setup
	$(CARGO) build --locked --workspace --bins

build-release: setup
	$(CARGO) build --locked --release --workspace --bins

# End-to-end tests call the stage binaries, so build them first (same profile as the tests).
test: build
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --locked --workspace --no-fail-fast; \
	else \
		$(CARGO) test --locked --workspace --no-fail-fast; \
	fi

# The pipeline on the shipped data. For now it stops after split (train/sample/evaluate come next).
reproduce: build-release
	@mkdir -p $(OUT)
	@echo "== 1000 Genomes, 805 SNPs: ingest"
	target/release/gmmn-ingest $(DATA)/1kg_phase3_805snp.vcf.gz --out $(OUT)/1kg/ingest
	@echo "== 1000 Genomes: split by super-population"
	target/release/gmmn-split $(OUT)/1kg/ingest --panel $(DATA)/1kg_phase3.panel --column super_pop \
		--groups EUR,AFR,EAS,SAS --out $(OUT)/1kg/groups
	@echo "== msprime OutOfAfrica_4J17 chr22, 5,000 SNPs: ingest"
	target/release/gmmn-ingest $(DATA)/sim_ooa4_chr22_5k.vcf.gz --out $(OUT)/sim5k/ingest
	@echo "== sim 5k: split by population"
	target/release/gmmn-split $(OUT)/sim5k/ingest --panel $(DATA)/sim_ooa4_chr22_5k.panel --column pop \
		--out $(OUT)/sim5k/groups
	@echo
	@echo "Made (each file has a .meta.yaml manifest beside it):"
	@find $(OUT) -name '*.parquet' | sort | sed 's/^/  /'
	@echo "Next stages (sketch, train, sample, evaluate) are not built yet; see README.md."

bench: build-release
	bash bench/ingest.sh

clean:
	rm -rf $(OUT) target bench/work
