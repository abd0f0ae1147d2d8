#!/usr/bin/env bash
# Builds the Envoy filter: the core with the `envoy` feature for wasm32-wasip1
# (the target Envoy's V8 runtime loads; see docs). Output: target/envoy/rolegate_filter.wasm
#
#   scripts/build-filter.sh                 the filter
#   scripts/build-filter.sh --example NAME  an example instead (target/envoy/NAME.wasm)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh envoy
if [[ ${1:-} == --example ]]; then
  cargo build --quiet --example "$2" --target wasm32-wasip1 --release --features envoy
  built=target/wasm32-wasip1/release/examples/$2.wasm out=target/envoy/$2.wasm
else
  cargo build --quiet --lib --target wasm32-wasip1 --release --features envoy
  built=target/wasm32-wasip1/release/rolegate.wasm out=target/envoy/rolegate_filter.wasm
fi
# Envoy calls every proxy-wasm callback a module exports on every request and
# skips the others; the SDK exports them all. Keep the ABI's entry points and
# the callbacks rolegate implements (tools/trim-exports explains more).
keep=memory,_initialize,proxy_abi_version_0_2_1,proxy_on_memory_allocate
keep+=,proxy_on_vm_start,proxy_on_configure,proxy_on_tick
keep+=,proxy_on_context_create,proxy_on_delete
keep+=,proxy_on_request_headers,proxy_on_request_body,proxy_on_http_call_response
# Called only for requests that have trailers (the filter removes them).
keep+=,proxy_on_request_trailers
mkdir -p target/envoy
cargo run --quiet --release -p trim-exports -- "$built" "$out" --keep "$keep"
echo "$out: $(( $(stat -c %s "$out") / 1024 )) KiB"
# The npm package ships the filter, so `rolegate envoy-config` points at it.
if [[ ${1:-} != --example ]]; then
  mkdir -p pkg/filter && cp "$out" pkg/filter/rolegate_filter.wasm
fi
