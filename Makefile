# gmmn-sim: the two commands a new user needs are `make reproduce` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
OUT ?= out
DATA := data
comma := ,
PYTHON ?= python3
BIN := target/release

# libtorch 2.13 (the version tch 0.26 binds) comes from the PyPI torch wheel in .venv; torch-sys
# finds it through the venv's python (LIBTORCH_USE_PYTORCH=1) and the binaries carry an rpath
# to it, so nothing needs LD_LIBRARY_PATH.
VENV := $(CURDIR)/.venv
TORCH_VERSION := 2.13.0
TORCH_STAMP := $(VENV)/.torch-$(TORCH_VERSION)
export LIBTORCH_USE_PYTORCH := 1
export VIRTUAL_ENV := $(VENV)
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help setup bcftools build build-release test reproduce bench clean

help:
	@echo "make reproduce   set up, build and run the pipeline on the shipped data (results in $(OUT)/)"
	@echo "make test        build and run every test"
	@echo "make bench       ingest beside bcftools, training step beside its dense floor, evaluation beside its target"
	@echo "make setup       check the toolchain and fetch dependencies"

# What the build needs beyond a Rust toolchain: libtorch (torch from PyPI, ~4.7 GB, once).
setup: $(TORCH_STAMP)
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust from rustup.rs" >&2; exit 1; }
	$(CARGO) fetch --locked

$(TORCH_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; Python 3.9-3.13 with venv is needed for libtorch" >&2; exit 1; }
	@echo "== setting up .venv with torch==$(TORCH_VERSION) (libtorch for gmmn-train and gmmn-sample)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check torch==$(TORCH_VERSION)
	@touch $@

# bcftools checks the synthetic VCFs in the tests and runs beside gmmn-ingest in the bench.
bcftools:
	@command -v bcftools >/dev/null || { \
		echo "== installing bcftools and tabix (Debian packages)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bcftools tabix >/dev/null; }

build: setup
	$(CARGO) build --locked --workspace --bins

build-release: setup
	$(CARGO) build --locked --release --workspace --bins

# End-to-end tests call the stage binaries, so build them first (same profile as the tests), and
# with the tests in the same cargo invocation: dev-dependencies change feature unification, and
# building the binaries alone first made cargo compile polars twice (10 more minutes on 2 cores).
test: setup bcftools
	$(CARGO) build --locked --workspace --bins --tests
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --locked --workspace --no-fail-fast; \
	else \
		$(CARGO) test --locked --workspace --no-fail-fast; \
	fi

# The CPU configuration of `make reproduce` (the paper's is the binaries' default: H 4096, Z = M,
# D = 10 M, 10,000 steps, lr 1e-4; ~0.4 s/step on 2 cores for 805 SNPs). Override on the command
# line, e.g. `make reproduce STEPS=10000 HIDDEN=4096 LATENT= MULTIPLIER=10 LR=1e-4`.
GROUPS_1KG := EUR AFR EAS SAS
STEPS ?= 1500
HIDDEN ?= 1024
LATENT ?= 128
MULTIPLIER ?= 4
RESTARTS ?= 15
RESTART_EVERY ?= 100
LR ?= 1e-3
BATCH ?= 512
SEED ?= 1
TRAIN_FLAGS = --steps $(STEPS) --hidden $(HIDDEN) $(if $(LATENT),--latent $(LATENT)) --batch $(BATCH) \
	--lr $(LR) --restart-every $(RESTART_EVERY) --seed $(SEED) --device auto

# The pipeline on the shipped data: ingest, split, then sketch -> train -> sample per group.
reproduce: build-release
	@mkdir -p $(OUT)
	@echo "== 1000 Genomes, 805 SNPs: ingest"
	$(BIN)/gmmn-ingest $(DATA)/1kg_phase3_805snp.vcf.gz --out $(OUT)/1kg/ingest
	@echo "== 1000 Genomes: split by super-population"
	$(BIN)/gmmn-split $(OUT)/1kg/ingest --panel $(DATA)/1kg_phase3.panel --column super_pop \
		--groups $(subst $(eval) ,$(comma),$(GROUPS_1KG)) --out $(OUT)/1kg/groups
	@for g in $(GROUPS_1KG); do \
		n=$$(grep -A3 '^counts:' $(OUT)/1kg/groups/$$g.parquet.meta.yaml | sed -n 's/^  haplotypes: //p'); \
		echo "== $$g: sketch ($(RESTARTS) restarts, D = $(MULTIPLIER) x M)"; \
		$(BIN)/gmmn-sketch $(OUT)/1kg/groups/$$g.parquet --out $(OUT)/1kg/$$g/sketch \
			--multiplier $(MULTIPLIER) --restarts $(RESTARTS) --seed $(SEED); \
		echo "== $$g: train ($(STEPS) steps)"; \
		$(BIN)/gmmn-train $(OUT)/1kg/$$g/sketch --out $(OUT)/1kg/$$g/model $(TRAIN_FLAGS); \
		echo "== $$g: sample $$n haplotypes (as many as the real group)"; \
		$(BIN)/gmmn-sample $(OUT)/1kg/$$g/model --n $$n --out $(OUT)/1kg/synthetic --seed $(SEED); \
	done
	@echo "== 1000 Genomes: PCA and ISOMAP fitted on real, real and synthetic projected"
	$(BIN)/gmmn-project --real $(OUT)/1kg/groups --synthetic $(OUT)/1kg/synthetic \
		--groups $(subst $(eval) ,$(comma),$(GROUPS_1KG)) --seed $(SEED) --out $(OUT)/1kg/projection
	@echo "== 1000 Genomes: discriminators, synthetic beside the noise floor and the naive simulator"
	$(BIN)/gmmn-discriminate --real $(OUT)/1kg/groups --synthetic $(OUT)/1kg/synthetic \
		--groups $(subst $(eval) ,$(comma),$(GROUPS_1KG)) --baseline holdout,independent \
		--seed $(SEED) --out $(OUT)/1kg/report
	@echo "== msprime OutOfAfrica_4J17 chr22, 5,000 SNPs: ingest"
	$(BIN)/gmmn-ingest $(DATA)/sim_ooa4_chr22_5k.vcf.gz --out $(OUT)/sim5k/ingest
	@echo "== sim 5k: split by population"
	$(BIN)/gmmn-split $(OUT)/sim5k/ingest --panel $(DATA)/sim_ooa4_chr22_5k.panel --column pop \
		--out $(OUT)/sim5k/groups
	@echo "== sim 5k: discriminators on the noise floor and the naive simulator (its VCF is written)"
	$(BIN)/gmmn-discriminate --real $(OUT)/sim5k/groups --baseline holdout,independent \
		--seed $(SEED) --out $(OUT)/sim5k/baselines
	@echo "== sim 5k: PCA and ISOMAP of the naive simulator's VCF against the real groups"
	$(BIN)/gmmn-project --real $(OUT)/sim5k/groups --synthetic $(OUT)/sim5k/baselines/independent.vcf.gz \
		--synthetic-panel $(OUT)/sim5k/baselines/independent.panel.tsv --seed $(SEED) \
		--out $(OUT)/sim5k/projection-independent
	@echo
	@echo "Made (each file has a .meta.yaml manifest beside it):"
	@find $(OUT) \( -name '*.parquet' -o -name '*.vcf.gz' -o -name '*.safetensors' -o -name '*.png' -o -name 'report.md' \) | sort | sed 's/^  */  /'
	@echo
	@echo "== 1000 Genomes, real vs synthetic ($(OUT)/1kg/report/report.md)"
	@sed -n '/^| comparison | per side/,/^$$/p' $(OUT)/1kg/report/report.md
	@echo "== sim 5k baselines ($(OUT)/sim5k/baselines/report.md)"
	@sed -n '/^| comparison | per side/,/^$$/p' $(OUT)/sim5k/baselines/report.md
	@echo "Figures: $(OUT)/1kg/projection/{pca,isomap}.png (and per group); Table I (sim 5k GMMNs) is not built yet."

bench: build-release
	bash bench/ingest.sh
	@echo
	@echo "== training step: s/step beside the dense floor (each GEMM of the step timed alone)"
	$(BIN)/gmmn-bench-train --steps 3 \
		--configs paper:5000:4096:5000:512:10,paper-805snp:805:4096:805:512:10,reproduce-cpu:805:$(HIDDEN):$(or $(LATENT),805):$(BATCH):$(MULTIPLIER)
	@echo
	bash bench/evaluate.sh

clean:
	rm -rf $(OUT) target bench/work
