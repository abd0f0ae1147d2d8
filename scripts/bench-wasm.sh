#!/usr/bin/env bash
# Times the core inside V8 (Node's WASI), as the Envoy filter runs it. Not a test.
# --no-liftoff: Envoy compiles wasm with TurboFan only (proxy-wasm-cpp-host).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet --release --target wasm32-wasip1 --example bench_wasm
node --no-warnings --no-liftoff -e '
const { WASI } = require("node:wasi");
const fs = require("node:fs");
const wasi = new WASI({ version: "preview1", args: [], env: {} });
const module = new WebAssembly.Module(fs.readFileSync(process.argv[1]));
wasi.start(new WebAssembly.Instance(module, wasi.getImportObject()));
' target/wasm32-wasip1/release/examples/bench_wasm.wasm
