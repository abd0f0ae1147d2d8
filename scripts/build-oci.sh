#!/usr/bin/env bash
# Builds an OCI image of the Envoy filter in the Wasm image format Istio
# pulls (the "compat" variant of the Wasm image specification: one
# application/vnd.oci.image.layer.v1.tar+gzip layer holding plugin.wasm),
# as an OCI image layout, with no container daemon:
#
#   target/oci/rolegate-filter/        OCI layout (skopeo inspect oci:target/oci/rolegate-filter:0.1.0)
#   target/oci/rolegate-filter.tar     the same directory as one tarball
#
# Push it with any OCI tool, e.g.
#   skopeo copy oci:target/oci/rolegate-filter:0.1.0 docker://registry.example.com/rolegate/filter:0.1.0
# The build is reproducible: the same filter gives the same digests.
#
#   scripts/build-oci.sh [--tag TAG] [--wasm FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p "require('./pkg/package.json').version")
tag=$version wasm=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --wasm) wasm=$2; shift 2 ;;
    *) echo "build-oci.sh: unknown argument $1 (--tag TAG, --wasm FILE)" >&2; exit 2 ;;
  esac
done
if [[ -z $wasm ]]; then
  scripts/build-filter.sh >/dev/null
  wasm=target/envoy/rolegate_filter.wasm
fi
[[ $(head -c 4 "$wasm" | od -An -tx1 | tr -d ' ') == 0061736d ]] || { echo "build-oci.sh: $wasm is not a wasm module" >&2; exit 1; }

out=target/oci/rolegate-filter
work=target/oci/work
rm -rf "$out" "$work"
mkdir -p "$out/blobs/sha256" "$work/rootfs"
cp "$wasm" "$work/rootfs/plugin.wasm"

blob() { # file media-type -> stores the blob, prints its descriptor
  local digest size
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  cp "$1" "$out/blobs/sha256/$digest"
  printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$2" "$digest" "$size"
}

# The layer: plugin.wasm at the root, fixed owner, mode and time, so the
# digest depends on the module alone.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=0644 \
    -cf "$work/layer.tar" -C "$work/rootfs" plugin.wasm
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -9 -n -c "$work/layer.tar" > "$work/layer.tar.gz"
layer=$(blob "$work/layer.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)

printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$diff_id" > "$work/config.json"
config=$(blob "$work/config.json" application/vnd.oci.image.config.v1+json)

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s],"annotations":{"org.opencontainers.image.title":"rolegate Envoy filter","org.opencontainers.image.version":"%s","org.opencontainers.image.licenses":"Apache-2.0"}}' \
  "$config" "$layer" "$version" > "$work/manifest.json"
manifest=$(blob "$work/manifest.json" application/vnd.oci.image.manifest.v1+json)
manifest_digest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)

printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' \
  "${manifest%\}},\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}}" > "$out/index.json"

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf target/oci/rolegate-filter.tar -C "$out" .
rm -rf "$work"
echo "oci:$out:$tag sha256:$manifest_digest"
echo "target/oci/rolegate-filter.tar"
