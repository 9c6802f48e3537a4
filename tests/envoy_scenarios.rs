//! `gw test --envoy`: scenario files run in gw's host and through real Envoys (1.36 and 1.40
//! from the package index), with tests/wasm/filter.wat as the filter. What reaches the stub
//! upstream, what the client gets, http calls answered by stub clusters, metrics from Envoy's
//! stats, logs from Envoy's log; skipped cases with their reason; a case the host and Envoy
//! disagree on fails with both outcomes; JUnit with the skipped cases.

mod common;

use std::path::{Path, PathBuf};

use common::envoy::{RealEnvoy, wat_module};
use common::gw::{Gw, Run};

const AGREED: &str = r#"
plugin_config: "admin:secret\n"
http_calls:
  - {cluster: auth, path: /verify, response: {headers: {":status": "200"}, body: "fine"}}
cases:
  - name: no credentials get a local 401
    request: {headers: {":method": GET, ":path": /private}}
    expect:
      action: pause
      local_response: {status: 401, body: "Invalid Token\n", headers: {x-denied: "1"}}
      forwarded: false
      metrics: {auth_denied_total: 1}
      logs_contain: [{level: warn, message: "denied: no credentials"}]
  - name: good credentials go upstream, edited, and the answer comes back tagged
    request:
      headers: {":method": GET, ":path": /private, authorization: Basic YWRtaW46c2VjcmV0, x-mine: "1"}
    response:
      headers: {":status": "201", x-up: "1"}
      body: "made\n"
      trailers: {x-checksum: abc}
    expect:
      forwarded: true
      request_headers: {":path": /private, x-auth-user: admin, x-mine: "1"}
      request_headers_absent: [authorization]
      response_headers: {":status": "201", x-filter: seen, x-up: "1"}
      response_body: "made\n"
      response_trailers: {x-checksum: abc}
      metrics: {auth_denied_total: 1}
  - name: an http call's answer lets the request through
    request: {headers: {":path": /call}}
    expect:
      request_headers: {x-verified: "yes"}
      http_calls_made: [{cluster: auth, path: /verify, method: GET}]
      logs_contain: ["call answered"]
  - name: a failed call is refused
    http_calls: [{cluster: auth, fail: true}]
    request: {headers: {":path": /call}}
    expect:
      local_response: {status: 403, body: "Forbidden\n"}
      forwarded: false
  - name: a request body is rewritten on its way up
    repeat: 2
    request: {headers: {":method": POST, ":path": /body}, body: [abc, def]}
    expect:
      request_body: "prefix:abcdef"
  - name: a tick is gw's clock
    tick: 1000
    expect: {metrics: {ticks_total: 1}}
  - name: an address Envoy derives
    properties: {source.address: "10.0.0.1:1"}
    request: {headers: {":path": /props}}
    expect: {request_headers: {x-source: "10.0.0.1:1"}}
"#;

/// The host's default client address is fixed; Envoy's client has its own port.
const DISAGREED: &str = r#"
cases:
  - name: the client's address
    request: {headers: {":path": /props}}
    expect: {request_headers: {x-source: "127.0.0.1:50000"}}
"#;

const CONNECTIONS: &str = r#"
cases:
  - name: data is prefixed on its way up and the answer comes back
    connection: {downstream: ["hi"], upstream: ["yo"]}
    expect: {upstream_data: ">hi", downstream_data: "yo", closed: false}
  - name: a q closes the connection
    connection: {downstream: ["quit"]}
    expect: {closed: true, upstream_data: ""}
"#;

const REFUSED: &str = "plugin_config: reject\nexpect_start_failure: true\ncases: []\n";

fn setup(envoy: &RealEnvoy) -> (Gw, PathBuf) {
    let gw = Gw::new();
    gw.publish_real_envoy(envoy);
    let dir = gw.work();
    wat_module("filter", &dir.join("filter.wasm"));
    for (name, text) in [
        ("agreed.yaml", AGREED),
        ("disagreed.yaml", DISAGREED),
        ("connections.yaml", CONNECTIONS),
        ("refused.yaml", REFUSED),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    (gw, dir)
}

fn test(gw: &Gw, dir: &Path, envoy: &RealEnvoy, files: &[&str], extra: &[&str]) -> Run {
    let mut args = vec!["test", "--wasm", "filter.wasm", "--envoy", &envoy.version];
    for file in files {
        args.extend(["--scenario", file]);
    }
    args.extend(extra);
    gw.command(&args).current_dir(dir).output().unwrap().into()
}

#[test]
fn scenarios_run_through_real_envoys_and_agree_with_the_host() {
    for envoy in common::envoy::all() {
        let (gw, dir) = setup(&envoy);
        let at = format!("Envoy {}", envoy.version);
        let run =
            test(&gw, &dir, &envoy, &["agreed.yaml", "connections.yaml", "refused.yaml"], &["--junit", "out.xml"]);
        eprintln!("{at}:\n{}", run.stdout);
        assert_eq!(run.code, 0, "{at}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains(&format!("8 passed, 0 failed, 2 skipped (gw's host and {at})")),
            "{at}\n{}",
            run.stdout
        );
        for reason in ["ticks gw's virtual clock", "sets properties Envoy derives itself (source.address)"] {
            assert!(run.stdout.contains(reason), "{at}: {reason}\n{}", run.stdout);
        }
        let xml = std::fs::read_to_string(dir.join("out.xml")).unwrap();
        assert!(xml.contains(r#"skipped="2""#) && xml.matches("<skipped message=").count() == 2, "{xml}");
    }
}

#[test]
fn a_case_the_host_and_envoy_disagree_on_fails_with_both_outcomes() {
    for envoy in common::envoy::all() {
        let (gw, dir) = setup(&envoy);
        let at = format!("Envoy {}", envoy.version);
        let run = test(&gw, &dir, &envoy, &["disagreed.yaml"], &[]);
        assert_eq!(run.code, 1, "{at}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        let out = &run.stdout;
        assert!(out.contains("- gw's host: passed") && out.contains(&format!("- {at}:")), "{at}\n{out}");
        assert!(
            out.contains(r#"request_headers.x-source: expected "127.0.0.1:50000", got "127.0.0.1:"#),
            "{at}\n{out}"
        );
        assert!(out.contains(&format!("0 passed, 1 failed, 0 skipped (gw's host and {at})")), "{at}\n{out}");
    }
}

#[test]
fn a_wrong_expectation_fails_in_both_and_a_plugin_that_starts_fails_a_start_failure() {
    let Some(envoy) = common::envoy::real("1.40") else { return };
    let (gw, dir) = setup(&envoy);
    let wrong = AGREED.replace("response_body: \"made\\n\"", "response_body: \"other\\n\"");
    std::fs::write(dir.join("wrong.yaml"), wrong).unwrap();
    std::fs::write(dir.join("starts.yaml"), "plugin_config: fine\nexpect_start_failure: true\ncases: []\n").unwrap();
    let run = test(&gw, &dir, &envoy, &["wrong.yaml", "starts.yaml"], &[]);
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(out.contains("alike:") && out.contains(r#"response_body: expected "other\n", got "made\n""#), "{out}");
    assert!(out.contains("but Envoy started it"), "{out}");
}

#[test]
fn envoy_without_a_build_to_name_is_a_usage_error() {
    let gw = Gw::new();
    wat_module("filter", &gw.work().join("filter.wasm"));
    std::fs::write(gw.work().join("a.yaml"), DISAGREED).unwrap();
    let run: Run = gw
        .command(&["test", "--wasm", "filter.wasm", "--scenario", "a.yaml", "--envoy"])
        .current_dir(gw.work())
        .output()
        .unwrap()
        .into();
    run.fails_with(2, "no default Envoy build is installed");
    assert!(run.stderr.contains("gw use"), "{}", run.stderr);
}
