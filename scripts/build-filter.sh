#!/usr/bin/env bash
# Builds the Envoy filter: the core with the `envoy` feature for wasm32-wasip1
# (the target Envoy's V8 runtime loads; see docs). Output: target/envoy/rolegate_filter.wasm
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh envoy
cargo build --quiet --lib --target wasm32-wasip1 --release --features envoy
mkdir -p target/envoy
cp target/wasm32-wasip1/release/rolegate.wasm target/envoy/rolegate_filter.wasm
echo "target/envoy/rolegate_filter.wasm: $(( $(stat -c %s target/envoy/rolegate_filter.wasm) / 1024 )) KiB"
