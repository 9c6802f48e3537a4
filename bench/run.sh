#!/usr/bin/env bash
# bench/run.sh: what `gw run` adds to bringing a topology up on a real Envoy, and how fast
# --watch puts an edited filter live.
#
#   ready  `gw run` in a project from the http-filter template (default topology: front + 2
#          service Envoys + echo upstreams), from the start of gw to its "ready" line, which gw
#          prints once every listener serves; the module is built already.
#   direct the same three Envoy processes started directly with the configs gw rendered, until
#          each admin endpoint answers /ready and each listener is active.
#   swap   `gw run --watch`: from saving src/lib.rs to gw's "rebuilt; the front now runs" line,
#          printed once Envoy serves the new listener (a warm build in Docker).
#   cargo  the same warm build by cargo alone, in the same builder image and target volume.
# Envoy is a real build (default 1.40, from Python's package index through gw; BENCH_ENVOY picks
# another line). Prints medians, ready - direct (what gw adds) and swap / cargo.
#
#   bash bench/run.sh
#   BENCH_RUNS=10 BENCH_GW=/path/to/gw BENCH_SWAP=0 bash bench/run.sh   # BENCH_SWAP=0: no swap part
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-5}
source "$repo/bench/lib.sh"
gw=$(bench_gw)

work=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench-run.XXXXXX")
pids=()
container=
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ -n $container ]] && docker rm -f "$container" >/dev/null 2>&1 || true
    [[ -n ${volume:-} ]] && docker volume rm -f "$volume" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
bench_envoy "$gw"

# wait_for FILE TEXT: until FILE has a line with TEXT (or 10 minutes).
wait_for() {
    local i
    for ((i = 0; i < 120000; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return
        sleep 0.005
    done
    echo "bench/run.sh: no \"$2\" in $1" >&2
    cat "$1" >&2
    exit 1
}
# serving ADMIN_FILE: the admin answers /ready and its listener is active.
serving() {
    local admin
    [[ -s $1 ]] || return 1
    admin=$(cat "$1")
    curl -fs "http://$admin/ready" >/dev/null &&
        curl -fs "http://$admin/config_dump?resource=dynamic_listeners" | grep -q '"active_state"'
}

cd "$work"
"$gw" init bench-filter --template http-filter --accept-defaults -q
cd bench-filter
"$gw" use -q "$version"
"$gw" build -q >/dev/null

ready=()
direct=()
for ((r = 0; r < runs; r++)); do
    log=$work/run-$r.log
    start=$(now)
    "$gw" run >"$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_for "$log" "ready; try:"
    ready+=("$(elapsed "$start")")
    kill -INT "$pid"
    wait "$pid" || true

    # The same processes, started directly with the configs gw rendered for them (the echo
    # upstreams are gone; readiness does not need them).
    config=$(ls -d "$GW_HOME"/runs/*/config | sort | tail -n 1)
    direct_pids=()
    start=$(now)
    for envoy in service-1 service-2 front; do
        "$envoy_binary" -c "$config/$envoy.yaml" --disable-hot-restart --admin-address-path "$work/$envoy.admin" \
            --log-level warning >/dev/null 2>&1 &
        direct_pids+=($!)
    done
    for envoy in service-1 service-2 front; do
        until serving "$work/$envoy.admin"; do sleep 0.005; done
    done
    direct+=("$(elapsed "$start")")
    kill "${direct_pids[@]}"
    wait "${direct_pids[@]}" 2>/dev/null || true
    rm -f "$work"/*.admin
done
r=$(printf '%s\n' "${ready[@]}" | median)
d=$(printf '%s\n' "${direct[@]}" | median)
printf 'gw run, default topology (front + 2 services + echo upstreams), Envoy %s, median of %d runs\n' "$version" "$runs"
printf '  gw run to "ready" (every listener serving)  %7.1f ms\n' "$(awk -v v="$r" 'BEGIN {print v*1000}')"
printf '  the same Envoys started directly            %7.1f ms\n' "$(awk -v v="$d" 'BEGIN {print v*1000}')"
awk -v r="$r" -v d="$d" 'BEGIN {printf "  gw adds                                     %7.1f ms (%.2f of direct)\n", (r-d)*1000, r/d}'

[[ ${BENCH_SWAP:-1} == 1 ]] || exit 0
# --watch: save → the front serves the new filter (warm Docker build).
log=$work/watch.log
"$gw" run --watch >"$log" 2>&1 &
pid=$!
pids+=("$pid")
wait_for "$log" "ready; try:"
swap=()
for ((r = 0; r < runs; r++)); do
    before=$(grep -c "rebuilt; the front now runs" "$log" || true)
    start=$(now)
    printf '\n// edit %d\n' "$r" >>src/lib.rs
    for ((i = 0; i < 120000; i++)); do
        (($(grep -c "rebuilt; the front now runs" "$log" || true) > before)) && break
        sleep 0.005
    done
    swap+=("$(elapsed "$start")")
done
kill -INT "$pid"
wait "$pid" || true

# cargo alone: the same warm build in the builder image, on the project's target volume.
volume=$(target_volume bench-filter)
container=$(builder_container "$volume")
cargo_alone=()
for ((r = 0; r < runs; r++)); do
    printf '\n// cargo edit %d\n' "$r" >>src/lib.rs
    start=$(now)
    docker exec "$container" cargo build --release --target wasm32-unknown-unknown -q
    cargo_alone+=("$(elapsed "$start")")
done
s=$(printf '%s\n' "${swap[@]}" | median)
c=$(printf '%s\n' "${cargo_alone[@]}" | median)
printf '  --watch: save to new filter serving         %7.2f s (median of %d)\n' "$s" "$runs"
printf '  cargo alone, the same warm build            %7.2f s\n' "$c"
awk -v s="$s" -v c="$c" 'BEGIN {printf "  swap/cargo %.2f\n", s/c}'
