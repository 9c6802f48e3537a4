#!/usr/bin/env bash
# tools/fuzz.sh: runs each property of tests/properties.rs (the parsers users and strangers
# feed gw: references, scenarios, package index pages, manifests, gw.toml, tarballs, wheels)
# for a set time, with fresh random cases on every round, in release mode.
#
#   bash tools/fuzz.sh              # 60 s per property
#   FUZZ_SECONDS=600 bash tools/fuzz.sh build_references_parse_or_refuse
#
# A failure stops the round and prints proptest's minimal failing input; docs/testing.md
# records what these runs found.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
cd "$repo"
cargo test --release --locked --test properties --no-run >&2
binary=$(cargo test --release --locked --test properties --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*properties[^"]*\)".*/\1/p' | tail -n 1)
[[ -x $binary ]] || { echo "tools/fuzz.sh: no test binary for tests/properties.rs" >&2; exit 1; }
if [[ $# -gt 0 ]]; then
    properties=("$@")
else
    mapfile -t properties < <("$binary" --list 2>/dev/null | sed -n 's/: test$//p')
fi
export PROPTEST_CASES=${PROPTEST_CASES:-2000}
for property in "${properties[@]}"; do
    end=$((SECONDS + seconds))
    rounds=0
    while ((SECONDS < end)); do
        "$binary" --exact "$property" --quiet >/dev/null 2>"$repo/target/fuzz-$property.log" || {
            echo "FAILED: $property (round $((rounds + 1)))" >&2
            cat "$repo/target/fuzz-$property.log" >&2
            exit 1
        }
        rounds=$((rounds + 1))
    done
    printf '%-45s %6d cases in %3d s: no failure\n' "$property" "$((rounds * PROPTEST_CASES))" "$seconds"
done
