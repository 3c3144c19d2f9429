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

.PHONY: help setup bcftools build build-release test reproduce quality privacy validate bench fuzz faults clean

help:
	@echo "make reproduce   set up, build, run Table I (workflows/table1.yaml) and the quickstart, audit (results in $(OUT)/)"
	@echo "make quality     the ablation of docs/quality.md (table1.yaml + quality.yaml) and its figures in docs/figures/"
	@echo "make privacy     utility against privacy of DP sketches (workflows/privacy.yaml), its figure in docs/figures/"
	@echo "make validate    the best configuration and the references on 4 simulated data sets it was not tuned on"
	@echo "make test        build and run every test"
	@echo "make bench       ingest beside bcftools, training step beside its GEMM floor, evaluation beside its target, output at scale, SNP scaling"
	@echo "make fuzz        each reader of untrusted bytes under libFuzzer, FUZZ_RUNS (1000000) inputs each (docs/reliability.md)"
	@echo "make faults      kill -9 at 50 points of gmmn run and its stages, full and read-only disks, numerical faults"
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

# bcftools checks the synthetic VCFs in the tests and runs beside gmmn-ingest in the bench;
# plink2 turns a synthetic VCF into a phased PLINK 2 fileset (docs/stages.md, tested there).
bcftools:
	@command -v bcftools >/dev/null && command -v plink2 >/dev/null || { \
		echo "== installing bcftools, tabix and plink2 (Debian packages)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bcftools tabix plink2 >/dev/null; }

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

# `make reproduce`: Table I of the paper on the shipped 5k chr22 data (workflows/table1.yaml) and
# the quickstart on the shipped 1000 Genomes data (workflows/quickstart.yaml), each through
# `gmmn run` (incremental: a second `make reproduce` only reruns what changed), then an audit of
# every artifact. The budgets live in the specs; edit them or copy a spec to change a run.
JOBS ?= 2
SPECS := table1 quickstart

reproduce: build-release
	@mkdir -p $(OUT)
	@for s in $(SPECS); do \
		echo "== gmmn run workflows/$$s.yaml --out $(OUT)/$$s --jobs $(JOBS)"; \
		start=$$(date +%s); \
		$(BIN)/gmmn run workflows/$$s.yaml --out $(OUT)/$$s --jobs $(JOBS) > $(OUT)/$$s.stdout; \
		echo "   $$(( $$(date +%s) - start )) s"; \
		echo "== gmmn audit $(OUT)/$$s"; \
		$(BIN)/gmmn audit $(OUT)/$$s --no-lineage | tail -n 1; \
	done
	@echo
	@echo "== Table I (paper: sigmoid+identity 0.49, quantizer+identity 0.25, ReLU features without restart 0.31, with restarts 0.06)"
	@cat $(OUT)/table1/table.md
	@echo
	@echo "== Quickstart: 1000 Genomes, 805 SNPs"
	@cat $(OUT)/quickstart/table.md
	@echo
	@echo "Lineage of every artifact: $(BIN)/gmmn audit $(OUT)/table1"

# `make quality`: the ablation of docs/quality.md (workflows/table1.yaml and quality.yaml) and
# the diagnostics figures of the paper's configuration and the best, copied into docs/figures/.
QUALITY_FIGURES := minor_alleles ld_decay nn_distances allele_frequencies

quality: build-release
	@mkdir -p $(OUT) docs/figures
	@for s in table1 quality; do \
		echo "== gmmn run workflows/$$s.yaml --out $(OUT)/$$s --jobs $(JOBS)"; \
		$(BIN)/gmmn run workflows/$$s.yaml --out $(OUT)/$$s --jobs $(JOBS) > $(OUT)/$$s.stdout || exit 1; \
		cat $(OUT)/$$s/table.md; \
	done
	@for f in $(QUALITY_FIGURES); do \
		cp $(OUT)/table1/relu-restarts/report/synthetic.$$f.png docs/figures/paper.$$f.png; \
		cp $(OUT)/table1/local-window/report/synthetic.$$f.png docs/figures/best.$$f.png; \
	done
	@echo "figures: docs/figures/paper.*.png (relu-restarts) and docs/figures/best.*.png (local-window)"

# `make privacy`: the best GMMN on exact and differentially private sketches, with both
# membership attacks (docs/privacy.md; workflows/privacy.yaml, and privacy-small.yaml on groups of
# 36-49 people), the figures copied to docs/figures/.
privacy: build-release
	@mkdir -p $(OUT) docs/figures
	@for s in privacy privacy-small; do \
		echo "== gmmn run workflows/$$s.yaml --out $(OUT)/$$s --jobs $(JOBS)"; \
		$(BIN)/gmmn run workflows/$$s.yaml --out $(OUT)/$$s --jobs $(JOBS) > $(OUT)/$$s.stdout || exit 1; \
		cat $(OUT)/$$s/table.md; \
		cp $(OUT)/$$s/privacy.png docs/figures/$$s.png; \
	done

# `make validate`: tools/validation_data.py simulates four data sets (stdpopsim/msprime; needs
# msprime and stdpopsim, installed into .venv here) and writes a spec per data set from
# workflows/validation.yaml (one configuration for all); each runs through `gmmn run`.
VALIDATION := $(OUT)/validation

validate: build-release bcftools
	$(VENV)/bin/pip install --quiet --disable-pip-version-check msprime stdpopsim
	$(VENV)/bin/python tools/validation_data.py --out $(VALIDATION)/data --spec workflows/validation.yaml
	@for spec in $(VALIDATION)/data/*.yaml; do \
		name=$$(basename $$spec .yaml); \
		echo "== gmmn run $$spec --out $(VALIDATION)/$$name --jobs $(JOBS)"; \
		$(BIN)/gmmn run $$spec --out $(VALIDATION)/$$name --jobs $(JOBS) > $(VALIDATION)/$$name.stdout || exit 1; \
		cat $(VALIDATION)/$$name/table.md; \
	done

bench: build-release
	bash bench/ingest.sh
	@echo
	@echo "== training step: s/step beside its GEMM floor (each GEMM of the step timed alone)"
	$(BIN)/gmmn-bench-train --steps 3 \
		--configs paper:5000:4096:5000:512:10,paper-805snp:805:4096:805:512:10,quickstart:805:1024:128:512:4
	@echo
	bash bench/evaluate.sh
	@echo
	bash bench/simulate.sh
	@echo
	bash bench/scaling.sh

# `make fuzz`: every target of fuzz/ (one per reader of bytes a user hands us; the list is
# crates/fuzz-targets' TARGETS, which tests/replay.rs checks against this one) under libFuzzer
# for FUZZ_RUNS inputs, starting from fuzz/seeds (made from the shipped data by
# tools/fuzz_seeds.sh) and the saved corpus, which it grows (shrink it with `cargo fuzz cmin`).
# A crash stops it, leaving the input in fuzz/artifacts/<target>/: copy it to
# fuzz/regressions/<target>/, where `make test` replays it. Needs a nightly toolchain (cargo fuzz
# instruments with -Z flags); no sanitizer: the code under test is safe Rust and libtorch is not
# built for ASan, and a panic, an overflow (debug assertions are on), a hang or an out-of-memory
# is what it looks for.
FUZZ_RUNS ?= 1000000
FUZZ_TARGETS := vcf vcf_bgzf panel manifest spec sketch model chain_model parquet
FUZZ_FLAGS := -timeout=10 -rss_limit_mb=4096 -print_final_stats=1

fuzz: setup
	@rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && $(CARGO) +nightly fuzz build --sanitizer none
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t; \
		echo "== fuzz $$t: $(FUZZ_RUNS) inputs"; \
		(cd fuzz && $(CARGO) +nightly fuzz run --sanitizer none $$t corpus/$$t seeds/$$t -- \
			-runs=$(FUZZ_RUNS) $(FUZZ_FLAGS)) || exit 1; \
	done

# `make faults`: tests/faults.rs with 50 kill points (make test runs 8): gmmn run killed at
# random times and inside each stage's commits, training killed and resumed, a full and a
# read-only filesystem under each stage, sketches of another dtype or byte order. `--workspace`
# keeps the features of `make test`'s build: without it cargo rebuilds polars.
KILL_POINTS ?= 50

faults: setup
	$(CARGO) build --locked --workspace --bins --tests
	GMMN_KILL_POINTS=$(KILL_POINTS) $(CARGO) test --locked --workspace --test faults -- --nocapture --test-threads 1

clean:
	rm -rf $(OUT) target bench/work
