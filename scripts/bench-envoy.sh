#!/usr/bin/env bash
# Envoy benchmark (not a test): rolegate vs native jwt_authn + RBAC. See scripts/bench-envoy.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh web envoy
sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd=sudo
command -v wrk >/dev/null || $sudo_cmd apt-get install -y -qq wrk >/dev/null
# --instructions counts with callgrind.
if [[ " $* " == *" --instructions "* ]]; then
  command -v valgrind >/dev/null || $sudo_cmd apt-get install -y -qq valgrind >/dev/null
fi
scripts/build-filter.sh
# The proxy-wasm floor: rolegate's host calls without rolegate (examples/envoy_floor.rs).
scripts/build-filter.sh --example envoy_floor
[[ -f pkg/dist/rolegate_bg.wasm ]] || scripts/build-pkg.sh
exec node scripts/bench-envoy.mjs "$@"
