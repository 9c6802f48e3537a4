#!/usr/bin/env bash
# bench/run.sh: what `gw run` adds to bringing a topology up, and how fast --watch swaps a filter.
#
#   ready  `gw run` in a project (default topology: front + 2 service Envoys + echo upstreams),
#          from the start of gw to its "ready" line; the module is built already.
#   direct the same three Envoy processes started directly with the configs gw rendered, until
#          each admin endpoint answers /ready.
#   swap   with `gw run --watch` on a project from the http-filter template (Docker toolchain):
#          from saving src/lib.rs to the front having loaded its new listener file (a warm build).
# Envoy is the envoy-double (no Envoy binary can be had on gw's CI machines), installed as a build
# from a loopback index. Prints medians, and ready - direct, the time gw adds (goal: <= 100 ms).
#
#   bash bench/run.sh
#   BENCH_RUNS=10 BENCH_GW=/path/to/gw BENCH_SWAP=0 bash bench/run.sh   # BENCH_SWAP=0: no Docker part
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-5}
source "$repo/bench/lib.sh"
gw=$(bench_gw)
double=${BENCH_DOUBLE:-$repo/target/release/examples/envoy-double}
[[ -x $double ]] || (cd "$repo" && cargo build --release --locked --example envoy-double >&2)

work=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench-run.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export GW_HOME=$work/home GW_PLATFORM=linux/amd64

# The double as Envoy 9.9.9, served by a loopback index.
name=envoy-v9.9.9-linux-amd64
mkdir -p "$work/stage/$name/bin" "$work/serve"
printf '#!/bin/sh\nexec %q "$@"\n' "$double" >"$work/stage/$name/bin/envoy"
chmod 755 "$work/stage/$name/bin/envoy"
tar -czf "$work/serve/$name.tar.gz" -C "$work/stage" "$name"
python3 -u -m http.server --bind 127.0.0.1 --directory "$work/serve" 0 >"$work/http.log" 2>&1 &
pids+=($!)
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^Serving HTTP on .* port \([0-9][0-9]*\).*/\1/p' "$work/http.log")
    [[ -n $port ]] && break
    sleep 0.1
done
sha=$(sha256sum "$work/serve/$name.tar.gz" | cut -d' ' -f1)
cat >"$work/serve/envoy-versions.json" <<EOF
{"latestVersion":"9.9.9","versions":{"9.9.9":{"releaseDate":"2026-01-01","tarballs":{"linux/amd64":"http://127.0.0.1:$port/$name.tar.gz"}}},"sha256sums":{"$name.tar.gz":"$sha"}}
EOF
export GW_ENVOY_VERSIONS_URL=http://127.0.0.1:$port/envoy-versions.json
"$gw" fetch -q 9.9.9
envoy_binary=$("$gw" which 9.9.9)   # what gw runs: a script that execs the double

# A project whose module is built already.
project=$work/shop
mkdir -p "$project/src" "$project/target/gw"
printf '[package]\nname = "shop"\nversion = "0.1.0"\n' >"$project/Cargo.toml"
: >"$project/src/lib.rs"
printf '[project]\nname = "shop"\nkind = "proxy-wasm"\n\n[envoy]\nbuild = "9.9.9"\n' >"$project/gw.toml"
printf '\0asm\1\0\0\0' >"$project/target/gw/shop.wasm"
touch -d '+1 hour' "$project/target/gw/shop.wasm"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.4f\n", b-a}'; }
# wait_for FILE TEXT: until FILE has a line with TEXT (or 60 s).
wait_for() {
    local i
    for ((i = 0; i < 12000; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return
        sleep 0.005
    done
    echo "bench/run.sh: no \"$2\" in $1" >&2
    cat "$1" >&2
    exit 1
}

ready=()
direct=()
for ((r = 0; r < runs; r++)); do
    log=$work/run-$r.log
    start=$(now)
    (cd "$project" && exec "$gw" run) >"$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_for "$log" "ready; try:"
    ready+=("$(since "$start")")
    kill -INT "$pid"
    wait "$pid" || true

    # The same processes, started directly with the configs gw rendered for them.
    config=$(ls -d "$GW_HOME"/runs/*/config | sort | tail -n 1)
    direct_pids=()
    start=$(now)
    for envoy in service-1 service-2 front; do
        "$envoy_binary" -c "$config/$envoy.yaml" --disable-hot-restart --admin-address-path "$work/$envoy.admin" \
            >/dev/null 2>&1 &
        direct_pids+=($!)
    done
    for envoy in service-1 service-2 front; do
        until [[ -s $work/$envoy.admin ]] && curl -fs "http://$(cat "$work/$envoy.admin")/ready" >/dev/null; do
            sleep 0.005
        done
    done
    direct+=("$(since "$start")")
    kill "${direct_pids[@]}"
    wait "${direct_pids[@]}" 2>/dev/null || true
    rm -f "$work"/*.admin
done
r=$(printf '%s\n' "${ready[@]}" | median)
d=$(printf '%s\n' "${direct[@]}" | median)
printf 'gw run, default topology (front + 2 services + echo upstreams), Envoy double, median of %d runs\n' "$runs"
printf '  gw run to "ready"                 %7.1f ms\n' "$(awk -v v="$r" 'BEGIN {print v*1000}')"
printf '  the same Envoys started directly  %7.1f ms\n' "$(awk -v v="$d" 'BEGIN {print v*1000}')"
awk -v r="$r" -v d="$d" 'BEGIN {printf "  gw adds                           %7.1f ms\n", (r-d)*1000}'

[[ ${BENCH_SWAP:-1} == 1 ]] || exit 0
# --watch: save → the front has loaded the new listener (warm Docker build).
cd "$work"
"$gw" init swapper --template http-filter --accept-defaults -q
cd swapper
"$gw" use -q 9.9.9
"$gw" build -q >/dev/null
log=$work/watch.log
"$gw" run --watch >"$log" 2>&1 &
pid=$!
pids+=("$pid")
wait_for "$log" "ready; try:"
swap=()
for ((r = 0; r < runs; r++)); do
    before=$(grep -c "front | .*lds: add/update listener 'front'" "$log" || true)
    start=$(now)
    printf '\n// edit %d\n' "$r" >>src/lib.rs
    for ((i = 0; i < 60000; i++)); do
        (($(grep -c "front | .*lds: add/update listener 'front'" "$log" || true) > before)) && break
        sleep 0.005
    done
    swap+=("$(since "$start")")
done
kill -INT "$pid"
wait "$pid" || true
s=$(printf '%s\n' "${swap[@]}" | median)
printf '  --watch: save to new filter live  %7.2f s (warm gw build in Docker, median of %d)\n' "$s" "$runs"
