#!/usr/bin/env bash
# Times `gw fetch` of a build that exists only as a container image against
# two ways of getting the same file out of it, in the same run, from a
# docker-registry on loopback:
#   A  skopeo copy docker://… dir:D, then tar -xzf every layer   (verifies digests, unpacks everything)
#   B  docker pull; docker create; docker cp                     (when a Docker daemon answers)
#   C  gw fetch --quiet standard:9.9.9                           (GW_REGISTRY_MIRROR, fresh GW_HOME)
# The image has a base layer (BENCH_BASE_MB of random bytes, standing in for
# the distribution) and a top layer holding usr/local/bin/envoy
# (BENCH_SIZE_MB). Prints the medians and C/A, C/B. See bench/README.md.
#
#   bash bench/image.sh
#   BENCH_RUNS=3 BENCH_SIZE_MB=80 BENCH_GW=target/release/gw bash bench/image.sh
set -euo pipefail

runs=${BENCH_RUNS:-5}
size_mb=${BENCH_SIZE_MB:-40}
base_mb=${BENCH_BASE_MB:-30}
for value in "$runs" "$size_mb" "$base_mb"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "bench/image.sh: BENCH_RUNS, BENCH_SIZE_MB and BENCH_BASE_MB must be positive integers" >&2; exit 2; }
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$repo/bench/lib.sh"
cd "$repo"
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench/image.sh: %s\n' "$*" >&2; exit 1; }
for tool in docker-registry skopeo tar gzip sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is required (apt-get install docker-registry skopeo)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench-image.XXXXXX")
registry_pid=
cleanup() {
    [[ -n $registry_pid ]] && { kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

gw=$(bench_gw)

# --- the registry -------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
host=127.0.0.1:$port

# --- the image, as an OCI layout, copied in with skopeo -------------------------------
layout=$work/layout
mkdir -p "$layout/blobs/sha256" "$work/base/usr/lib" "$work/top/usr/local/bin"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
blob() { # blob FILE -> prints "sha256:<hex> <size>", stores FILE in the layout
    local hex size
    hex=$(sha256sum "$1" | awk '{print $1}')
    size=$(stat -c %s "$1")
    cp "$1" "$layout/blobs/sha256/$hex"
    echo "sha256:$hex $size"
}
say "making an image: ${base_mb} MiB base layer, ${size_mb} MiB envoy on top"
head -c "$((base_mb * 1024 * 1024))" /dev/urandom >"$work/base/usr/lib/base.bin"
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/top/usr/local/bin/envoy"
chmod 755 "$work/top/usr/local/bin/envoy"
layers=() diffs=()
for dir in base top; do
    tar -C "$work/$dir" -cf "$work/$dir.tar" usr
    diffs+=("\"sha256:$(sha256sum "$work/$dir.tar" | awk '{print $1}')\"")
    gzip -1 -c "$work/$dir.tar" >"$work/$dir.tar.gz"
    read -r digest size < <(blob "$work/$dir.tar.gz")
    layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$digest\",\"size\":$size}")
done
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%s]},"config":{"Entrypoint":["/usr/local/bin/envoy"]}}' \
    "$(IFS=,; echo "${diffs[*]}")" >"$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
    "$config_digest" "$config_size" "$(IFS=,; echo "${layers[*]}")" >"$work/manifest.json"
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v9.9.9"}}]}' \
    "$manifest_digest" "$manifest_size" >"$layout/index.json"
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$layout:v9.9.9" "docker://$host/envoyproxy/envoy:v9.9.9"
rm -rf "$work/base" "$work/top" "$work"/*.tar "$work"/*.tar.gz
echo '{"latestVersion":"1.0.0","versions":{},"sha256sums":{}}' >"$work/index.json"

# --- the contenders ---------------------------------------------------------------------
a() {
    rm -rf "$work/a" && mkdir -p "$work/a/root"
    skopeo --insecure-policy copy --quiet --src-tls-verify=false "docker://$host/envoyproxy/envoy:v9.9.9" "dir:$work/a/image"
    local layer
    for layer in $(python3 -c 'import json,sys; print(" ".join(l["digest"].split(":")[1] for l in json.load(open(sys.argv[1]))["layers"]))' "$work/a/image/manifest.json"); do
        tar -xzf "$work/a/image/$layer" -C "$work/a/root"
    done
    cmp -s "$work/a/root/usr/local/bin/envoy" "$work/expected" || die "A did not produce the envoy binary"
}
b() {
    local id
    docker pull --quiet "$host/envoyproxy/envoy:v9.9.9" >/dev/null
    id=$(docker create "$host/envoyproxy/envoy:v9.9.9")
    docker cp --quiet "$id:/usr/local/bin/envoy" "$work/b-envoy" 2>/dev/null || docker cp "$id:/usr/local/bin/envoy" "$work/b-envoy" >/dev/null
    docker rm "$id" >/dev/null
    docker rmi "$host/envoyproxy/envoy:v9.9.9" >/dev/null
    cmp -s "$work/b-envoy" "$work/expected" || die "B did not produce the envoy binary"
    rm -f "$work/b-envoy"
}
c() {
    rm -rf "$work/c"
    GW_HOME=$work/c GW_ENVOY_VERSIONS_URL=file://$work/index.json GW_PLATFORM=linux/amd64 \
        GW_REGISTRY_MIRROR=http://$host "$gw" fetch --quiet standard:9.9.9
    cmp -s "$work/c/builds/standard/9.9.9/linux-amd64/bin/envoy" "$work/expected" || die "C did not produce the envoy binary"
}
skopeo --insecure-policy copy --quiet --src-tls-verify=false "docker://$host/envoyproxy/envoy:v9.9.9" "dir:$work/probe"
python3 - "$work/probe" "$work/expected" <<'PY'
import json, sys, tarfile
d, out = sys.argv[1], sys.argv[2]
top = json.load(open(f"{d}/manifest.json"))["layers"][-1]["digest"].split(":")[1]
with tarfile.open(f"{d}/{top}") as t, open(out, "wb") as f:
    f.write(t.extractfile("usr/local/bin/envoy").read())
PY
rm -rf "$work/probe"

contenders=(a c)
if docker info >/dev/null 2>&1; then contenders=(a b c); else say "no Docker daemon answers: skipping B"; fi
declare -A med
for name in "${contenders[@]}"; do
    times=()
    for ((run = 0; run <= runs; run++)); do
        start=$(now)
        "$name"
        t=$(elapsed "$start")
        ((run == 0)) || times+=("$t") # the first run warms up
    done
    say "${name^^}: ${times[*]}"
    med[$name]=$(printf '%s\n' "${times[@]}" | median)
done

printf '\ngw fetch out of an image vs. baselines: %s MiB base layer + %s MiB envoy layer, docker-registry on loopback, median of %s runs after 1 warm-up\n' \
    "$base_mb" "$size_mb" "$runs"
printf '  A  %-44s %8.3f s\n' "skopeo copy + tar -xzf every layer" "${med[a]}"
[[ -n ${med[b]:-} ]] && printf '  B  %-44s %8.3f s\n' "docker pull + create + cp" "${med[b]}"
printf '  C  %-44s %8.3f s\n' "gw fetch" "${med[c]}"
awk -v a="${med[a]}" -v c="${med[c]}" 'BEGIN { printf "  C/A %.2f\n", c / a }'
[[ -n ${med[b]:-} ]] && awk -v b="${med[b]}" -v c="${med[c]}" 'BEGIN { printf "  C/B %.2f\n", c / b }'
exit 0
