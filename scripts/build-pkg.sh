#!/usr/bin/env bash
# Builds the npm package's wasm (pkg/dist/) from the core with the `web` feature:
# wasm32-unknown-unknown -> wasm-bindgen (pinned) -> wasm-opt (npm binaryen).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh web

# Two modules from one crate, so a browser downloads only what it uses:
# rolegate (policy, decide, matrix, decodeToken) and rolegate_testing (key
# generation, signing, OAuth2 clients), which the page loads on demand.
build() { # cargo features, output name
  cargo build --quiet --lib --target wasm32-unknown-unknown --profile web --features "$1"
  wasm-bindgen --target web --out-dir pkg/dist --out-name "$2" \
      target/wasm32-unknown-unknown/web/rolegate.wasm
  # Debian's wasm-opt (108) breaks wasm-bindgen output; npm binaryen works.
  # No browser reads the producers and target-features sections.
  node_modules/.bin/wasm-opt -Oz --converge --strip-producers --strip-target-features \
      --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "pkg/dist/$2_bg.wasm" -o "pkg/dist/$2_bg.wasm"
  local raw gz
  raw=$(stat -c %s "pkg/dist/$2_bg.wasm")
  gz=$(gzip -9 -c "pkg/dist/$2_bg.wasm" | wc -c)
  echo "pkg/dist/$2_bg.wasm: $((raw / 1024)) KiB, $((gz / 1024)) KiB gzip"
}
rm -rf pkg/dist && mkdir -p pkg/dist
build web rolegate
build web-testing rolegate_testing

# The preview page (www/) loads the package and the presets from its own
# directory, so it can be served from any static host.
rm -rf www/rolegate www/presets
mkdir -p www/rolegate/dist www/presets
cp pkg/web.js pkg/testing.js pkg/envoy-config.js pkg/istio-config.js pkg/cases.js pkg/diff.js pkg/input.js www/rolegate/
cp pkg/dist/rolegate.js pkg/dist/rolegate_bg.wasm pkg/dist/rolegate_testing.js pkg/dist/rolegate_testing_bg.wasm www/rolegate/dist/
cp examples/pingaccess.json examples/pexip.json www/presets/
# The page's code editor: CodeMirror 6 from the lockfile, one ES module.
node_modules/.bin/esbuild www/vendor-src/codemirror.js --bundle --format=esm --minify \
    --log-level=warning --outfile=www/vendor/codemirror.js
