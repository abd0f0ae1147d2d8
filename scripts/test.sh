#!/usr/bin/env bash
# Runs every test of rolegate: the Rust core, the npm package in Node, the
# Envoy filter in a real Envoy, and the preview page in headless Chromium.
# Installs what it needs first (idempotent; fast when already present).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
scripts/setup.sh

step "format and lints"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --features web -- -D warnings
cargo clippy --lib --example envoy_floor --target wasm32-wasip1 --features envoy -- -D warnings

step "core: unit tests and shared vectors"
cargo test --workspace --all-targets

step "npm package: build, then the vectors, API, types and CLI in Node"
scripts/build-pkg.sh
node --test tests/node/

step "Envoy filter: build, then the vectors, filter, demo and load tests in a real Envoy"
scripts/build-filter.sh
node --test --test-concurrency=1 tests/envoy/

step "interop: node-oidc-provider, PyJWT, authlib and openid-client with the filter in a real Envoy"
node --test --test-concurrency=1 tests/interop/

step "preview page: headless Chromium (screenshots in test-artifacts/browser/)"
node --test tests/browser/

step "fuzzing: every cargo-fuzz target for ${ROLEGATE_FUZZ_SECONDS:-60}s"
scripts/fuzz.sh "${ROLEGATE_FUZZ_SECONDS:-60}"

printf '\nall tests passed\n'
