#!/usr/bin/env bash
# bench/envoy-scenarios.sh: how fast `gw test --envoy` runs scenario cases through a real Envoy,
# against gw's own proxy-wasm host running the same cases.
#
# One case of the http-filter template (a request through the filter to the upstream and its
# response back, checked as `gw test` checks every case), repeated N times with `repeat`.
#   host   `gw test --wasm M --scenario S`: the cases in gw's host.
#   envoy  `gw test --wasm M --scenario S --envoy V`: the same in the host, then through Envoy V
#          (default 1.40, from Python's package index through gw; BENCH_ENVOY picks another).
# Cases/s = (N - 1) / (time for N cases - time for 1 case), so start-up, module load and
# reading the scenario cancel out; through Envoy, the host's share (measured alone) is taken off.
# Also printed: what one file costs through Envoy besides its cases (Envoy's start and stop).
# Needs a built gw (BENCH_GW, else target/release/gw, built first when not current); Docker unless
# BENCH_WASM names a module built from templates/http-filter.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cases=${BENCH_CASES:-2000}
runs=${BENCH_RUNS:-3}
source "$repo/bench/lib.sh"
gw=$(bench_gw)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Envoys are kept between runs of the bench (and shared with the tests' cache when it exists).
export GW_HOME=${BENCH_HOME:-$repo/target/tmp/gw-test-envoys}
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
line=${BENCH_ENVOY:-1.40}
"$gw" fetch -q "$line"
cd "$work"

wasm=$(http_filter_module "$gw")

# scenario FILE N: the template's configuration, one request and its response, N times.
scenario() {
    cat >"$1" <<EOF
plugin_config:
  request: {add: {x-request-tag: gw}, remove: [x-internal]}
  response: {set: {server: envoy}}
cases:
  - name: a request through the filter and its response back
    repeat: $2
    request: {headers: {":method": GET, ":path": /api/items, ":authority": example.com, x-internal: "1"}}
    response: {headers: {":status": "200", server: upstream}, body: "ok\n"}
    expect:
      request_headers: {x-request-tag: gw}
      request_headers_absent: [x-internal]
      response_headers: {server: envoy}
      response_body: "ok\n"
EOF
}
scenario one.yaml 1
scenario many.yaml "$cases"

# timed SCENARIO [ARGS]: seconds for one `gw test` run (which must pass).
timed() {
    local start file=$1
    shift
    start=$(now)
    "$gw" test --wasm "$wasm" --scenario "$file" "$@" >/dev/null 2>&1
    elapsed "$start"
}

timed one.yaml >/dev/null # compile and cache the module first
host_rates=()
envoy_rates=()
file_costs=()
for ((r = 0; r < runs; r++)); do
    h1=$(timed one.yaml)
    hn=$(timed many.yaml)
    e1=$(timed one.yaml --envoy "$line")
    en=$(timed many.yaml --envoy "$line")
    host_rates+=("$(awk -v n="$cases" -v a="$h1" -v b="$hn" 'BEGIN {printf "%.0f\n", (n - 1) / (b - a)}')")
    envoy_rates+=("$(awk -v n="$cases" -v a="$h1" -v b="$hn" -v c="$e1" -v d="$en" \
        'BEGIN {printf "%.0f\n", (n - 1) / ((d - c) - (b - a))}')")
    file_costs+=("$(awk -v a="$h1" -v c="$e1" 'BEGIN {printf "%.0f\n", (c - a) * 1000}')")
done
h=$(printf '%s\n' "${host_rates[@]}" | median)
e=$(printf '%s\n' "${envoy_rates[@]}" | median)
f=$(printf '%s\n' "${file_costs[@]}" | median)
printf 'scenario cases, %d per run, median of %d runs, Envoy %s\n' "$cases" "$runs" "$line"
printf '  gw host           %7d cases/s\n' "$h"
printf '  through Envoy     %7d cases/s\n' "$e"
awk -v h="$h" -v e="$e" 'BEGIN {printf "  envoy/host time per case %.1f\n", h/e}'
printf '  a file through Envoy, besides its cases: %d ms\n' "$f"
