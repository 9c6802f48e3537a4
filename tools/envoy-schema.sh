#!/usr/bin/env bash
# Regenerates src/envoy_api/envoy-api.binpb, the Envoy v3 API schema that `gw validate` embeds,
# and src/envoy_api/envoy-api.version, the line that says where it came from.
#
# The .proto files come from the envoy-types crate (it vendors Envoy's data-plane-api and the
# files it imports); Debian's protoc compiles them (`apt-get install protobuf-compiler
# libprotobuf-dev`: protoc 3.21.12, and the google/protobuf well-known types in /usr/include).
# protox cannot stand in for protoc here: see /work/shared/ENVIRONMENT.md and docs/validate.md.
#
# Usage: tools/envoy-schema.sh        (from anywhere; writes into the repository)
set -euo pipefail

ENVOY_TYPES_VERSION=0.7.7
# The crate does not say which data-plane-api commit it vendors. envoy-types 0.7.5 vendored
# data-plane-api 84e84367 (2026-01-29, Envoy main after 1.37.0); 0.7.7 adds 50 files and changes
# 117 more, so it is a later main-branch snapshot. Update this note with the crate version.
ENVOY_API="Envoy v3 API from envoyproxy/data-plane-api main, later than 84e84367 (2026-01-29)"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out_dir="$repo/src/envoy_api"
cargo_home=${CARGO_HOME:-$HOME/.cargo}
protoc=${PROTOC:-/usr/bin/protoc}
wkt_include=${PROTOC_INCLUDE:-/usr/include}

find_crate() {
    local dir
    for dir in "$cargo_home"/registry/src/*/"envoy-types-$ENVOY_TYPES_VERSION"; do
        if [[ -d $dir/proto ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if ! crate=$(find_crate); then
    # Not unpacked yet: let cargo download it, through a throwaway project that depends on it.
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    mkdir "$scratch/src"
    touch "$scratch/src/lib.rs"
    printf '[package]\nname = "envoy-schema-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nenvoy-types = "=%s"\n' \
        "$ENVOY_TYPES_VERSION" >"$scratch/Cargo.toml"
    (cd "$scratch" && cargo fetch --quiet)
    crate=$(find_crate) || { echo "envoy-types $ENVOY_TYPES_VERSION is not in $cargo_home/registry/src after cargo fetch" >&2; exit 1; }
fi

[[ -x $protoc ]] || { echo "no protoc at $protoc (apt-get install protobuf-compiler)" >&2; exit 1; }
[[ -f $wkt_include/google/protobuf/descriptor.proto ]] ||
    { echo "no google/protobuf/*.proto under $wkt_include (apt-get install libprotobuf-dev)" >&2; exit 1; }

# One include root per vendored repository, as their import statements expect.
proto="$crate/proto"
includes=()
for root in data-plane-api xds protoc-gen-validate googleapis opentelemetry-proto client_model cel-spec/proto ratelimit/api; do
    [[ -d $proto/$root ]] || { echo "expected $proto/$root in envoy-types $ENVOY_TYPES_VERSION" >&2; exit 1; }
    includes+=(-I "$proto/$root")
done
includes+=(-I "$wkt_include")

# Every Envoy v3 API file, so that configs using any extension validate; --include_imports adds
# what they import (validate, udpa, xds, google/protobuf, ...). Sorted for a reproducible output.
mapfile -t files < <(cd "$proto/data-plane-api" && find envoy -name '*.proto' | LC_ALL=C sort)
# TypedStruct, which configs may use in place of the message itself (Envoy unpacks it), is imported
# by no Envoy file and not vendored by envoy-types: tools/protos holds its wire form.
includes+=(-I "$repo/tools/protos")
typed_structs=("$repo/tools/protos/xds/type/v3/typed_struct.proto" "$repo/tools/protos/udpa/type/v1/typed_struct.proto")

mkdir -p "$out_dir"
tmp="$out_dir/envoy-api.binpb.tmp"
(cd "$proto/data-plane-api" && "$protoc" "${includes[@]}" --include_imports --descriptor_set_out="$tmp" "${files[@]}" "${typed_structs[@]}") 2> >(grep -v 'warning: Import .* is unused\.' >&2)
mv "$tmp" "$out_dir/envoy-api.binpb"

vcs=$(sed -n 's/.*"sha1": *"\([0-9a-f]\{8\}\).*/\1/p' "$crate/.cargo_vcs_info.json" 2>/dev/null || true)
echo "envoy-types $ENVOY_TYPES_VERSION${vcs:+ (flemosr/envoy-types@$vcs)}: $ENVOY_API" >"$out_dir/envoy-api.version"

echo "wrote $out_dir/envoy-api.binpb ($(wc -c <"$out_dir/envoy-api.binpb") bytes, ${#files[@]} envoy files + imports)"
