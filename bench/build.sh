#!/usr/bin/env bash
# bench/build.sh: how much gw's Docker toolchain adds to a build.
#
# For a proxy-wasm project made by `gw init` (template http-filter), it times:
#   cold  gw build with a fresh target volume (crates already downloaded);
#   warm  gw build after touching src/lib.rs (one container per build, outputs read out of it);
#   base  the same cargo command, same image, same volumes, after the same touch, run by
#         `docker exec` in a container that is already running: cargo's own time, no gw.
# and prints the medians and the warm/base ratio. Needs Docker and a built gw
# (BENCH_GW, else target/release/gw, built first when not current).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-5}
source "$repo/bench/lib.sh"
gw=$(bench_gw)

work=$(mktemp -d)
container=
volume=
cleanup() {
    [[ -n $container ]] && docker rm -f "$container" >/dev/null 2>&1 || true
    [[ -n $volume ]] && docker volume rm -f "$volume" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

export GW_HOME=$work/home
cd "$work"
"$gw" init bench-filter --template http-filter --accept-defaults -q
cd bench-filter

# Cold: the first build also makes the builder image if it is missing; do that outside the timing.
"$gw" build -q >/dev/null 2>&1 || "$gw" build
# gw names a project's target volume by its name and a hash of its path.
volume=$(target_volume bench-filter)
docker volume inspect "$volume" >/dev/null
docker volume rm -f "$volume" >/dev/null
start=$(now); "$gw" build -q >/dev/null; cold=$(elapsed "$start")

warm=()
for ((i = 0; i < runs; i++)); do
    touch src/lib.rs
    start=$(now); "$gw" build -q >/dev/null; warm+=("$(elapsed "$start")")
done

# The baseline: cargo alone, in the same image with the same mounts, in a running container.
container=$(builder_container "$volume")
base=()
for ((i = 0; i < runs; i++)); do
    touch src/lib.rs
    start=$(now)
    docker exec "$container" cargo build --release --target wasm32-unknown-unknown -q
    base+=("$(elapsed "$start")")
done

w=$(printf '%s\n' "${warm[@]}" | median)
b=$(printf '%s\n' "${base[@]}" | median)
printf 'gw build (Docker toolchain), http-filter template, median of %d runs\n' "$runs"
printf '  cold gw build (fresh target volume)   %7.3f s\n' "$cold"
printf '  warm gw build after a touch           %7.3f s\n' "$w"
printf '  cargo alone (docker exec), same touch %7.3f s\n' "$b"
awk -v w="$w" -v b="$b" 'BEGIN {printf "  warm/cargo %.2f\n", w/b}'
