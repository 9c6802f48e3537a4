# What the bench scripts share; each sources it after setting `repo`.

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
