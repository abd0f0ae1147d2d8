#!/usr/bin/env bash
# Runs the tests of rolegate. Installs what they need first (idempotent; fast
# when already present).
#   scripts/test.sh                 everything, in this order:
#   scripts/test.sh lint            rustfmt and clippy (host, web and envoy builds)
#   scripts/test.sh core            Rust unit tests, shared vectors, integration tests
#   scripts/test.sh node            the npm package in Node (vectors, API, types, CLI)
#   scripts/test.sh envoy           the filter in a real Envoy (vectors, filter, demo, load)
#   scripts/test.sh interop         node-oidc-provider, PyJWT, authlib, openid-client with Envoy
#   scripts/test.sh browser         the preview page in headless Chromium
#   scripts/test.sh fuzz            every cargo-fuzz target
# Several subsets may be named: `scripts/test.sh core node`.
# ROLEGATE_FUZZ_SECONDS: fuzzing time per target. Default 0 (the seeds and the
# saved corpus are replayed as regression inputs); .ci/run sets 60.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(lint core node envoy interop browser fuzz)
subsets=("$@")
[[ ${#subsets[@]} -gt 0 ]] || subsets=("${all[@]}")
for subset in "${subsets[@]}"; do
    [[ " ${all[*]} " == *" $subset "* ]] || {
        echo "test.sh: unknown subset '$subset' (one of: ${all[*]})" >&2
        exit 2
    }
done
wants() { [[ " ${subsets[*]} " == *" $1 "* ]]; }
step() { printf '\n==> %s\n' "$*"; }

# What each subset needs installed and built.
parts=()
wants node && parts+=(web)
wants browser && parts+=(web browser)
wants envoy && parts+=(web envoy)
wants interop && parts+=(web envoy interop)
step "toolchain"
scripts/setup.sh core "${parts[@]}"

if wants lint; then
    step "lint: format and clippy"
    cargo fmt --all -- --check
    (cd fuzz && cargo fmt -- --check)
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
    cargo clippy --lib --target wasm32-unknown-unknown --features web -- -D warnings
    cargo clippy --lib --target wasm32-unknown-unknown --features web-testing -- -D warnings
    cargo clippy --lib --example envoy_floor --target wasm32-wasip1 --features envoy -- -D warnings
fi

if wants core; then
    step "core: unit tests and shared vectors"
    cargo test --workspace --all-targets
    # The Envoy adapter's own unit tests (its host seams: a failing clock).
    cargo test --lib --features envoy envoy::
fi

if wants node || wants browser || wants envoy || wants interop; then
    step "npm package: build"
    scripts/build-pkg.sh
fi

if wants node; then
    step "node: the vectors, API, types, CLI, the packed package and the OCI image"
    scripts/setup.sh oci
    scripts/build-filter.sh # the package ships it
    node --test tests/node/
fi

if wants envoy || wants interop; then
    step "Envoy filter: build"
    scripts/build-filter.sh
fi

if wants envoy; then
    step "envoy: the vectors, filter, demo and load tests in a real Envoy"
    node --test --test-concurrency=1 tests/envoy/
fi

if wants interop; then
    step "interop: node-oidc-provider, PyJWT, authlib and openid-client with the filter in a real Envoy"
    node --test --test-concurrency=1 tests/interop/
fi

if wants browser; then
    step "browser: the preview page in headless Chromium (screenshots in test-artifacts/browser/)"
    node --test tests/browser/
fi

if wants fuzz; then
    step "fuzz: every cargo-fuzz target for ${ROLEGATE_FUZZ_SECONDS:-0}s"
    scripts/fuzz.sh "${ROLEGATE_FUZZ_SECONDS:-0}"
fi

printf '\ntests passed: %s\n' "${subsets[*]}"
