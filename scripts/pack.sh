#!/usr/bin/env bash
# Builds the npm package with everything it needs (the wasm core, the Envoy
# filter, types, CLI) and packs it: target/npm/rolegate-<version>.tgz.
# Install it with `npm install /path/to/rolegate-<version>.tgz`; the package
# is not in the npm registry, and the name there is not ours.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-pkg.sh >/dev/null
scripts/build-filter.sh >/dev/null
cp LICENSE pkg/LICENSE  # npm includes it in the tarball
mkdir -p target/npm
tarball=$(cd pkg && npm pack --silent --pack-destination ../target/npm)
echo "target/npm/$tarball"
