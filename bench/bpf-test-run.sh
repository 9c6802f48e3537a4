#!/usr/bin/env bash
# bench/bpf-test-run.sh: packets/s through the xdp template's program with `gw test` and a
# scenario case that repeats, against the same test run made directly (bench/bpf_run.rs: aya,
# one BPF_PROG_TEST_RUN, nothing else), in one run.
#
#   gw      `gw test --object prog.bpf.o --scenario s.yaml`: gw's start, the YAML, the verifier
#           pass over every program, a fresh copy of the object for the case, the run, the checks.
#   direct  the cargo example `bpf-run`: load the object, load the program, one test run.
# Both send the same 42-byte ICMP frame from an address that is not blocked (XDP_PASS),
# BENCH_PACKETS times (default 5,000,000) in one BPF_PROG_TEST_RUN. Packets/s = packets / wall
# time; prints the medians of BENCH_RUNS (default 5) and gw/direct. Needs root and Docker (to
# build the template's object; BENCH_OBJECT names one instead).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-5}
packets=${BENCH_PACKETS:-5000000}
source "$repo/bench/lib.sh"
gw=$(bench_gw)
(cd "$repo" && cargo build --release --locked --example bpf-run >&2)
direct=$repo/target/release/examples/bpf-run

work=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench-bpf.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
if [[ -n ${BENCH_OBJECT:-} ]]; then
    object=$BENCH_OBJECT
else
    "$gw" init bench-xdp --template xdp --accept-defaults -q
    (cd bench-xdp && "$gw" build -q >/dev/null)
    object=$work/bench-xdp/target/gw/bench-xdp.bpf.o
fi
# Ethernet, IPv4 (10.200.0.9 → 10.200.0.2, ICMP), an echo request.
frame=0200000000020200000000010800450000140001400040010000 # eth + the IPv4 header's first 10 bytes
frame=${frame}0000 # header checksum (the program does not check it)
frame=${frame}0ac800090ac80002 # source, destination
frame=${frame}0800f7fe00000001 # ICMP echo request
cat >"$work/s.yaml" <<YAML
program: xdp_policy
cases:
  - name: $packets packets
    repeat: $packets
    packet: {hex: "$frame"}
    expect: {verdict: XDP_PASS}
YAML

through_gw=()
straight=()
for ((r = 0; r < runs; r++)); do
    start=$(now)
    "$gw" test --object "$object" --scenario "$work/s.yaml" >"$work/gw.out" 2>&1 ||
        { cat "$work/gw.out" >&2; exit 1; }
    through_gw+=("$(elapsed "$start")")
    grep -q " passed, 0 failed" "$work/gw.out" || { cat "$work/gw.out" >&2; exit 1; }
    start=$(now)
    "$direct" "$object" xdp_policy "$frame" "$packets" >/dev/null 2>"$work/direct.err" ||
        { cat "$work/direct.err" >&2; exit 1; }
    straight+=("$(elapsed "$start")")
done
g=$(printf '%s\n' "${through_gw[@]}" | median)
d=$(printf '%s\n' "${straight[@]}" | median)
printf 'packets/s through the xdp template program, %d packets per BPF_PROG_TEST_RUN, median of %d\n' "$packets" "$runs"
awk -v p="$packets" -v t="$g" 'BEGIN {printf "  gw test --object (whole process)      %12.0f  (%.3f s)\n", p/t, t}'
awk -v p="$packets" -v t="$d" 'BEGIN {printf "  direct harness (whole process)        %12.0f  (%.3f s)\n", p/t, t}'
grep -o "[0-9.]*ns per run\|[0-9.]*µs per run" "$work/direct.err" | sed 's/^/  the kernel alone: /'
awk -v g="$g" -v d="$d" 'BEGIN {printf "  gw/direct %.2f\n", d/g}'
