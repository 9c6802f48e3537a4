# What the bench scripts share; each sources it after setting `repo`.

# Seconds since the epoch, with nanoseconds; `elapsed START` is the time since such a value.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.4f\n", b-a}'; }

# The median of the numbers on stdin, one per line.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Prints the gw to time: BENCH_GW, else target/release/gw, built first (a
# no-op when it is current) so a stale binary is never measured.
bench_gw() {
    if [[ -n ${BENCH_GW:-} ]]; then
        printf '%s\n' "$BENCH_GW"
        return
    fi
    (cd "$repo" && cargo build --release --locked >&2)
    printf '%s\n' "$repo/target/release/gw"
}

# The Docker volume gw keeps the project's target directory in, for the project in the current
# directory named NAME (as gw's Docker toolchain names it).
target_volume() {
    printf 'gw-target-%s-%s\n' "$1" "$(printf '%s' "$(pwd -P)" | sha256sum | cut -c1-8)"
}

# A running container of gw's builder image with the current directory and target volume
# VOLUME mounted as gw's Docker toolchain mounts them: the baseline for "cargo alone". Prints its id.
builder_container() {
    local image uid
    image=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^gw-builder:' | head -n1)
    uid=$(id -u)
    docker run -d --init -u "$uid:$(id -g)" -v "$PWD:/src" -w /src \
        -v "gw-cargo-home-$uid:/cargo" -v "$1:/target" \
        -e CARGO_HOME=/cargo -e CARGO_TARGET_DIR=/target -e HOME=/tmp "$image" sleep infinity
}

# http_filter_module GW: prints BENCH_WASM, else the module of a project made from the
# http-filter template in the current directory and built with GW (`gw build`, Docker).
http_filter_module() {
    if [[ -n ${BENCH_WASM:-} ]]; then
        printf '%s\n' "$BENCH_WASM"
        return
    fi
    "$1" init bench-filter --template http-filter --accept-defaults -q >&2
    (cd bench-filter && "$1" build -q >/dev/null)
    printf '%s\n' "$PWD/bench-filter/target/gw/bench_filter.wasm"
}

# bench_envoy GW: fetches the Envoy line BENCH_ENVOY (default 1.40) with GW into GW_HOME
# (BENCH_HOME, else the tests' cache: Envoys are kept between runs) and sets envoy_binary and
# version (e.g. 1.40.0). Loopback traffic bypasses any proxy.
bench_envoy() {
    export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
    export GW_HOME=${BENCH_HOME:-$repo/target/tmp/gw-test-envoys}
    local line=${BENCH_ENVOY:-1.40}
    "$1" fetch -q "$line"
    envoy_binary=$("$1" which "$line")
    version=$(basename "$(dirname "$(dirname "$(dirname "$envoy_binary")")")")
}
