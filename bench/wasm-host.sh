#!/usr/bin/env bash
# bench/wasm-host.sh: how fast gw's proxy-wasm host runs requests and loads modules.
#
# Requests: one scenario case, a request and a response through the filter's header path
# (context create, request headers, response headers, log, done, delete), run N times with
# `repeat`, each run checked against its expectation as `gw test` always does. Requests/s =
# (N - 1) / (time for N runs - time for 1 run), so start-up, module load and reading the scenario
# cancel out; gw is pinned to one core (taskset).
# Two filters in the same run: the http-filter template (built with `gw build`, or BENCH_WASM)
# and a baseline that only answers "continue" (the host's own floor).
# Load: the template's module compiled (cache cleared) against loaded from gw's cache.
# Needs a built gw (BENCH_GW, else target/release/gw, built first when not current); Docker unless
# BENCH_WASM names a module built from templates/http-filter.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requests=${BENCH_REQUESTS:-100000}
runs=${BENCH_RUNS:-3}
source "$repo/bench/lib.sh"
gw=$(bench_gw)
one_core=()
command -v taskset >/dev/null && one_core=(taskset -c 0)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GW_HOME=$work/home
cd "$work"

wasm=$(http_filter_module "$gw")

cat >noop.wat <<'EOF'
(module
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $at))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0)))
EOF

# scenario FILE N: the template's plugin configuration, one request through the header path,
# repeated N times (each run checked against its expectation).
scenario() {
    cat >"$1" <<EOF
plugin_config:
  request: {add: {x-request-tag: gw}, remove: [x-internal]}
  response: {set: {server: envoy}}
cases:
  - name: a request through the header path
    repeat: $2
    request: {headers: {":method": GET, ":path": /api/items, ":authority": example.com, x-internal: "1"}}
    response: {headers: {":status": "200", server: upstream}}
    expect: {action: continue}
EOF
}
scenario one.yaml 1
scenario many.yaml "$requests"

# timed MODULE SCENARIO: seconds for one `gw test` run.
timed() {
    local start
    start=$(now)
    "${one_core[@]}" "$gw" test --wasm "$1" --scenario "$2" >/dev/null
    elapsed "$start"
}
# rate MODULE: requests per second, median of the runs.
rate() {
    local r rates=()
    timed "$1" one.yaml >/dev/null # compile and cache first
    for ((r = 0; r < runs; r++)); do
        local t1 tn
        t1=$(timed "$1" one.yaml)
        tn=$(timed "$1" many.yaml)
        rates+=("$(awk -v n="$requests" -v a="$t1" -v b="$tn" 'BEGIN {printf "%.0f\n", (n - 1) / (b - a)}')")
    done
    printf '%s\n' "${rates[@]}" | median
}
# load_ms: the load time `gw test` reports for the template's module, in milliseconds.
load_ms() {
    "$gw" test --wasm "$wasm" --scenario one.yaml 2>&1 | sed -n 's/.*loaded ([a-z ]*, \([0-9.]*\)\([a-zµ]*\)).*/\1 \2/p' |
        awk '{v=$1; u=$2; if (u=="s") v*=1000; else if (u=="µs") v/=1000; else if (u=="ns") v/=1e6; printf "%.1f\n", v}'
}

filter_rate=$(rate "$wasm")
noop_rate=$(rate noop.wat)
cold=()
cached=()
for ((r = 0; r < runs; r++)); do
    rm -rf "$GW_HOME/cache/wasm"
    cold+=("$(load_ms)")
    cached+=("$(load_ms)")
done
c=$(printf '%s\n' "${cold[@]}" | median)
w=$(printf '%s\n' "${cached[@]}" | median)

printf 'gw proxy-wasm host, %d requests per run, one core, median of %d runs\n' "$requests" "$runs"
printf '  http-filter template     %9d requests/s\n' "$filter_rate"
printf '  continue-only baseline   %9d requests/s\n' "$noop_rate"
awk -v f="$filter_rate" -v n="$noop_rate" 'BEGIN {printf "  filter/baseline time per request %.2f\n", n/f}'
printf '  module load, compiled    %9.1f ms\n' "$c"
printf '  module load, cached      %9.1f ms\n' "$w"
awk -v c="$c" -v w="$w" 'BEGIN {printf "  cached/compiled %.3f\n", w/c}'
