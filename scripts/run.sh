#!/usr/bin/env bash
# Builds everything and runs the demo: Envoy with the rolegate filter in front
# of a demo admin API (PingAccess preset), and the preview page. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh web envoy
scripts/build-filter.sh
scripts/build-pkg.sh
exec node scripts/demo.mjs "$@"
