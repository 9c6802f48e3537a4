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
