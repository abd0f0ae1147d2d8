#!/usr/bin/env bash
# Installs what building and testing rolegate needs, from the package
# registries only. Idempotent: each step checks first and is quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

# Rust targets: wasm32-wasip1 for the Envoy filter, wasm32-unknown-unknown for the npm package.
installed=$(rustup target list --installed)
for target in wasm32-wasip1 wasm32-unknown-unknown; do
    grep -qx "$target" <<<"$installed" || rustup target add "$target"
done
