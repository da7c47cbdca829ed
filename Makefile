# edgegate: `make run` (local gate on the demo repository) and `make test` (everything,
# installing its own prerequisites). See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
ROOT := $(CURDIR)
export PATH := $(HOME)/.cargo/bin:$(PATH)
export EDGEGATE_ROOT := $(ROOT)

.PHONY: run test setup build wasm bundle bench lint fmt cargo-test e2e repro fuzz

setup:
	tests/setup.sh

## The local gate on its embedded default: demo repository, development key.
run:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	$(CARGO) run --quiet -p edgegate -- serve

build:
	$(CARGO) build --workspace --all-targets

## Lambda@Edge module (wasm32, `wasm` profile, WebAssembly SIMD as deploy/build.rs builds it).
wasm:
	RUSTFLAGS=-Ctarget-feature=+simd128 $(CARGO) build -p edgegate-handler --lib --target wasm32-unknown-unknown --profile wasm

bundle: build
	$(CARGO) run --quiet -p edgegate -- bundle --config fixtures/config/edgegate.toml --out target/edgegate-bundle.zip

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

cargo-test: build
	$(CARGO) test --workspace --no-fail-fast

## End-to-end suites: each script runs real peers and exits non-zero on any failure.
e2e: build
	@set -e; for t in tests/e2e/*.sh; do echo "=== $$t"; bash "$$t"; done

test: setup cargo-test e2e
	@echo "make test: all suites passed"

bench: setup
	bash tests/bench/run.sh

## The wasm module built twice from clean target directories equals the embedded one
## (also part of `make test`).
repro: build
	bash tests/e2e/45-repro.sh

## Every fuzz target for FUZZ_SECONDS each (`make test` runs them for 20 s, in e2e).
FUZZ_SECONDS ?= 60
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/e2e/40-fuzz.sh
