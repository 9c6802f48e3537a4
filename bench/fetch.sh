#!/usr/bin/env bash
# Times `gw fetch` against two shell baselines in the same run, over loopback:
#   A  curl URL | tar -xz                       (streams, verifies nothing)
#   B  curl -o f URL; sha256sum -c; tar -xzf f  (verifies before unpacking)
#   C  gw fetch --quiet standard:9.9.9          (fresh GW_HOME each run)
# and prints the median of each and the ratios C/A and C/B. See bench/README.md.
#
#   bash bench/fetch.sh
#   BENCH_RUNS=10 BENCH_SIZE_MB=100 bash bench/fetch.sh
#   BENCH_GW=/path/to/gw bash bench/fetch.sh     # skip `cargo build --release`
#   BENCH_ENVOY=/path/to/envoy bash bench/fetch.sh  # a real Envoy binary in a tar.xz, as Envoy
#                                                   # ships it; adds D: xz -dc of the archive
set -euo pipefail

runs=${BENCH_RUNS:-5}
size_mb=${BENCH_SIZE_MB:-40}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench/fetch.sh: BENCH_RUNS must be a positive integer" >&2; exit 2; }
[[ $size_mb =~ ^[1-9][0-9]*$ ]] || { echo "bench/fetch.sh: BENCH_SIZE_MB must be a positive integer" >&2; exit 2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
source "$repo/bench/lib.sh"

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench/fetch.sh: %s\n' "$*" >&2
    exit 1
}

for tool in curl tar sha256sum python3; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench.XXXXXX")
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Loopback must never go through a proxy from the environment (curl and gw
# both honour NO_PROXY).
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

# --- gw ---------------------------------------------------------------------
gw=$(bench_gw)
bench_c=1
if ! "$gw" fetch --help >/dev/null 2>&1; then
    say "NOTE: $gw has no working 'fetch' subcommand yet; measuring A and B only"
    bench_c=
fi

# --- the release --------------------------------------------------------------
name=envoy-v9.9.9-linux-amd64
serve=$work/serve
mkdir -p "$work/stage/$name/bin" "$serve"
if [[ -n ${BENCH_ENVOY:-} ]]; then
    [[ -x $BENCH_ENVOY ]] || die "BENCH_ENVOY=$BENCH_ENVOY is not an executable"
    command -v xz >/dev/null || die "xz is required with BENCH_ENVOY"
    tarball=$name.tar.xz z=J
    cp "$BENCH_ENVOY" "$work/stage/$name/bin/envoy"
    envoy_bytes=$(wc -c <"$BENCH_ENVOY")
    say "packing the real envoy ($envoy_bytes bytes) into $tarball (xz -6, as Envoy's releases)"
else
    tarball=$name.tar.gz z=z
    envoy_bytes=$((size_mb * 1024 * 1024))
    say "making a ${size_mb} MiB envoy of random bytes and $tarball"
    head -c "$envoy_bytes" /dev/urandom >"$work/stage/$name/bin/envoy"
fi
chmod 755 "$work/stage/$name/bin/envoy"
tar -c${z}f "$serve/$tarball" -C "$work/stage" "$name"
rm -rf "$work/stage"
sha=$(sha256sum "$serve/$tarball" | awk '{ print $1 }')
archive_bytes=$(wc -c <"$serve/$tarball")

# Port 0: the OS picks a free port, which the server prints.
python3 -u -m http.server --bind 127.0.0.1 --directory "$serve" 0 >"$work/http.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^Serving HTTP on .* port \([0-9][0-9]*\).*/\1/p' "$work/http.log")
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || die "http.server exited: $(cat "$work/http.log")"
    sleep 0.1
done
[[ -n $port ]] || die "http.server did not report its port: $(cat "$work/http.log")"
base=http://127.0.0.1:$port
url=$base/$tarball

cat >"$serve/envoy-versions.json" <<EOF
{"latestVersion":"9.9.9","versions":{"9.9.9":{"releaseDate":"2026-01-01","tarballs":{"linux/amd64":"$url"}}},"sha256sums":{"$tarball":"$sha"}}
EOF
curl -fsS -o /dev/null "$url" || die "cannot download $url from the local server"

# --- the contenders -------------------------------------------------------------
q() { printf '%q' "$1"; }
a=$work/a b=$work/b c=$work/c
names=(A B)
labels=("curl | tar (no verification)" "curl; sha256sum -c; tar")
prepares=("rm -rf $(q "$a") && mkdir $(q "$a")"
    "rm -rf $(q "$b") $(q "$b.tar") && mkdir $(q "$b")")
commands=("curl -s $(q "$url") | tar -x$z -C $(q "$a")"
    "curl -s -o $(q "$b.tar") $(q "$url") && echo $(q "$sha  $b.tar") | sha256sum -c --quiet - && tar -x${z}f $(q "$b.tar") -C $(q "$b")")
if [[ -n $bench_c ]]; then
    names+=(C)
    labels+=("gw fetch")
    prepares+=("rm -rf $(q "$c") && mkdir $(q "$c")")
    commands+=("GW_HOME=$(q "$c") GW_ENVOY_VERSIONS_URL=$(q "$base/envoy-versions.json") GW_PLATFORM=linux/amd64 $(q "$gw") fetch --quiet standard:9.9.9")
fi

if [[ -n ${BENCH_ENVOY:-} ]]; then
    names+=(D)
    labels+=("xz -dc of the archive (no I/O)")
    prepares+=("true")
    commands+=("xz -dc $(q "$serve/$tarball") >/dev/null")
fi

declare -A med
if command -v hyperfine >/dev/null; then
    say "timing with $(hyperfine --version): $runs runs after 1 warm-up"
    args=(--warmup 1 --runs "$runs" --export-json "$work/hyperfine.json")
    for i in "${!names[@]}"; do
        args+=(--command-name "${names[$i]}" --prepare "${prepares[$i]}" "${commands[$i]}")
    done
    hyperfine "${args[@]}" >&2
    while read -r n m; do
        med[$n]=$m
    done < <(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], r["median"])' "$work/hyperfine.json")
else
    say "timing with a bash loop (install hyperfine for more detail): $runs runs after 1 warm-up"
    for i in "${!names[@]}"; do
        times=()
        for ((run = 0; run <= runs; run++)); do
            bash -c "${prepares[$i]}"
            start=$EPOCHREALTIME
            if ! sh -c "${commands[$i]}" >/dev/null 2>"$work/err"; then
                cat "$work/err" >&2
                die "${names[$i]} failed: ${commands[$i]}"
            fi
            end=$EPOCHREALTIME
            ((run == 0)) && continue # the warm-up
            times+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f", e - s }')")
        done
        say "${names[$i]}: ${times[*]}"
        med[${names[$i]}]=$(printf '%s\n' "${times[@]}" | median)
    done
fi

# --- each contender really unpacked the envoy binary ------------------------------
check_unpacked() {
    local label=$1 dir=$2 found
    found=$(find "$dir" -type f -name envoy -size "${envoy_bytes}c" -print -quit)
    [[ -n $found ]] || die "$label left no ${envoy_bytes}-byte envoy under $dir"
}
check_unpacked A "$a"
check_unpacked B "$b"
if [[ -n $bench_c ]]; then check_unpacked C "$c"; fi

# --- report ---------------------------------------------------------------------
printf '\ngw fetch vs. baselines: a %s-byte envoy in a %s-byte %s, loopback (python3 http.server), median of %s runs after 1 warm-up\n' \
    "$envoy_bytes" "$archive_bytes" "${tarball#"$name".}" "$runs"
for i in "${!names[@]}"; do
    printf '  %s  %-30s %8.3f s\n' "${names[$i]}" "${labels[$i]}" "${med[${names[$i]}]}"
done
if [[ -n $bench_c ]]; then
    awk -v a="${med[A]}" -v b="${med[B]}" -v c="${med[C]}" \
        'BEGIN { printf "  C/A %.2f\n  C/B %.2f\n", c / a, c / b }'
    if [[ -n ${med[D]:-} ]]; then
        awk -v c="${med[C]}" -v d="${med[D]}" 'BEGIN { printf "  C/D %.2f\n", c / d }'
    fi
else
    echo "  C  skipped: $gw has no working 'fetch' subcommand"
fi
