//! gw's proxy-wasm host, driven directly through the library: hand-written WAT filters in
//! tests/wasm/ cover each host-function area and each way a filter can fail.

use gw::diagnose::Diagnose;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gw::wasmhost::{AbiVersion, FileReport, Host, LoadedModule, LogLevel, Verdict, junit};

fn wat(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasm").join(name)
}

struct Fixture {
    host: Host,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path().join("cache")).unwrap();
        Fixture { host, dir }
    }

    fn load(&self, name: &str) -> LoadedModule {
        self.host.load(&wat(name)).unwrap()
    }

    fn run(&self, module: &LoadedModule, yaml: &str) -> FileReport {
        let path = self.dir.path().join("scenario.yaml");
        std::fs::write(&path, yaml).unwrap();
        self.host.run_scenario_file(module, &path).unwrap()
    }
}

/// The failure lines of every case, for assertion messages.
fn failures(report: &FileReport) -> String {
    let mut out = String::new();
    for case in &report.cases {
        if let Verdict::Failed(lines) = &case.outcome {
            out.push_str(&format!("case {:?}:\n  {}\n", case.name, lines.join("\n  ")));
        }
    }
    out
}

fn failed_lines<'a>(report: &'a FileReport, case: &str) -> &'a [String] {
    let case = report.cases.iter().find(|c| c.name == case).unwrap_or_else(|| panic!("no case {case:?}"));
    match &case.outcome {
        Verdict::Failed(lines) => lines,
        other => panic!("case {:?}: {other:?}, but it should have failed", case.name),
    }
}

#[test]
fn the_minimal_scenario_contract_passes() {
    let f = Fixture::new();
    let module = f.load("filter.wat");
    assert_eq!(module.abi, Some(AbiVersion::V0_2_1));
    let report = f.run(
        &module,
        r#"
plugin_config: "admin:secret\n"
vm_config: ""
cases:
  - name: no credentials are refused
    request:
      headers: {":method": GET, ":path": /api/private, ":authority": example.com}
    expect:
      local_response: {status: 401, body: "Invalid Token\n"}
  - name: good credentials pass and are forwarded
    request:
      headers: {":path": /api/private, authorization: "Basic YWRtaW46c2VjcmV0"}
    response:
      headers: {":status": "200"}
    expect:
      action: continue
      request_headers: {x-auth-user: admin}
      request_headers_absent: [authorization]
      response_headers: {x-filter: seen}
      metrics: {auth_denied_total: 1}
      logs_contain: []
"#,
    );
    assert_eq!(report.failed(), 0, "{}", failures(&report));
    assert_eq!(report.passed(), 2);

    // What the host observed for the refused request: the local reply went back through the
    // filter's response callbacks (x-filter), never upstream, and carried the filter's header.
    let refused = &report.cases[0].observed;
    assert!(!refused.forwarded);
    let local = refused.local_response.as_ref().unwrap();
    assert_eq!(local.status, 401);
    assert_eq!(local.details, "unauthenticated");
    assert_eq!(local.headers, vec![("x-denied".to_string(), "1".to_string())]);
    assert!(refused.response_headers.contains(&(":status".into(), "401".into())), "{:?}", refused.response_headers);
    assert!(refused.response_headers.contains(&("x-filter".into(), "seen".into())));
    assert_eq!(refused.response_body, b"Invalid Token\n");
    let names: Vec<_> = refused.callbacks.iter().map(|c| (c.name, c.action)).collect();
    // The filter exports no proxy_on_response_body, so only these ran.
    assert_eq!(names, vec![("request_headers", 1), ("response_headers", 0)]);
    // The first case also holds the VM start's logs: WASI stdout, the configuration, a warning.
    let logs: Vec<_> = refused.logs.iter().map(|l| (l.level, l.message.as_str())).collect();
    assert!(logs.contains(&(LogLevel::Info, "hello from stdout")), "{logs:?}");
    assert!(logs.contains(&(LogLevel::Debug, "admin:secret\n")), "{logs:?}");
    assert!(logs.contains(&(LogLevel::Warn, "denied: no credentials")), "{logs:?}");

    let passed = &report.cases[1].observed;
    assert!(passed.forwarded);
    // Envoy's connection manager completes the request headers before filters run.
    for name in [":method", ":authority", ":scheme", "x-request-id", "x-forwarded-proto"] {
        assert!(passed.request_headers.iter().any(|(k, _)| k == name), "{name} missing: {:?}", passed.request_headers);
    }
}

#[test]
fn every_host_function_area_works() {
    let f = Fixture::new();
    let module = f.load("filter.wat");
    let report = f.run(
        &module,
        r#"
plugin_name: auth-filter
time: 2024-01-01T00:00:00Z
properties: {source.address: "203.0.113.7:4000"}
cases:
  - name: an http call answered 200 resumes the request
    request: {headers: {":path": /call}}
    http_calls:
      - {cluster: auth, path: /verify, method: GET, response: {headers: {":status": "200"}, body: ok}}
    expect:
      action: pause
      forwarded: true
      request_headers: {x-verified: "yes"}
      response_headers: {x-filter: seen}
      http_calls_made: [{cluster: auth, path: /verify, method: GET, headers: {":authority": auth}}]
      logs_contain: ["call answered"]
  - name: an http call answered 500 gets a local 403
    request: {headers: {":path": /call}}
    http_calls: [{cluster: auth, response: {headers: {":status": "500"}}}]
    expect:
      forwarded: false
      local_response: {status: 403, body: "Forbidden\n"}
  - name: a failed http call gets a local 403 too
    request: {headers: {":path": /call}}
    http_calls: [{cluster: auth, fail: true}]
    expect:
      local_response: {status: 403}
  - name: shared data is set, read back, and a stale CAS is refused
    request: {headers: {":path": /shared}}
    expect:
      request_headers: {x-shared: /shared}
      shared_data: {hits: /shared}
      logs_contain: [{level: warn, message: cas mismatch}]
  - name: properties come from the scenario and the request
    request: {headers: {":path": /props}}
    expect:
      request_headers: {x-source: "203.0.113.7:4000", x-plugin: auth-filter, x-path: /props}
      properties: {my.flag: "on"}
  - name: a case can override a property
    request: {headers: {":path": /props}}
    properties: {source.address: "198.51.100.1:1"}
    expect:
      request_headers: {x-source: "198.51.100.1:1"}
  - name: a chunked body is buffered to its end and edited
    request:
      headers: {":path": /body, ":method": POST}
      body: ["hello ", "world"]
    response: {headers: {":status": "201"}, body: created}
    expect:
      actions: {request_body: continue}
      request_body: "prefix:hello world"
      response_body: created
  - name: ticks fire on the virtual clock
    tick: 2500
    expect:
      metrics: {ticks_total: 2}
      logs_contain: [{level: debug, message: tick}]
  - name: queued items reach proxy_on_queue_ready
    enqueue: [{queue: jobs, value: job-1}]
    expect:
      logs_contain: [job-1]
  - name: connection data flows both ways
    connection: {downstream: [abc, def], upstream: [xyz]}
    expect:
      action: continue
      upstream_data: ">abc>def"
      downstream_data: xyz
      closed: false
  - name: the filter closes a connection
    connection:
      events: [{downstream: hi}, {downstream: quit}, {downstream: never}]
    expect:
      upstream_data: ">hi"
      closed: true
"#,
    );
    assert_eq!(report.failed(), 0, "{}", failures(&report));
    assert_eq!(report.passed(), 11);
    let call = &report.cases[0].observed.http_calls[0];
    assert_eq!(call.timeout_ms, 5000);
    assert_eq!(call.answered_status.as_deref(), Some("200"));
    let ticked = &report.cases[7].observed;
    assert_eq!(ticked.logs.iter().filter(|l| l.message == "tick").count(), 2);
}

#[test]
fn failing_expectations_read_as_differences() {
    let f = Fixture::new();
    let module = f.load("filter.wat");
    let report = f.run(
        &module,
        r#"
cases:
  - name: wrong on every count
    request:
      headers: {":path": /, authorization: "Basic YWRtaW46c2VjcmV0"}
    expect:
      action: pause
      local_response: {status: 401}
      request_headers: {x-auth-user: root, x-missing: "1"}
      response_headers_absent: [x-filter]
      metrics: {auth_denied_total: 5, no_such_metric: 1}
      logs_contain: ["nope"]
  - name: an unanswered call
    request: {headers: {":path": /call}}
"#,
    );
    assert_eq!(report.failed(), 2);
    let lines = failed_lines(&report, "wrong on every count");
    let expected = [
        "action: expected pause, got continue (proxy_on_request_headers returned 0)",
        "local_response: expected a local response, got none (the request went upstream)",
        "request_headers.x-auth-user: expected \"root\", got \"admin\"",
        "request_headers.x-missing: expected \"1\", got nothing",
        "response_headers_absent.x-filter: expected no such header, got \"seen\"",
        "metrics.auth_denied_total: expected 5, got 0",
        "metrics.no_such_metric: expected 1, got nothing (no metric of that name)",
    ];
    for line in expected {
        assert!(lines.iter().any(|l| l == line), "missing {line:?} in:\n{}", lines.join("\n"));
    }
    assert!(
        lines.iter().any(|l| l.starts_with("logs_contain: expected a line containing \"nope\", got none among")),
        "{lines:?}"
    );
    assert_eq!(lines.len(), expected.len() + 1, "{lines:?}");

    let lines = failed_lines(&report, "an unanswered call");
    assert_eq!(
        lines,
        ["http_calls: the filter called cluster \"auth\" (GET /verify), but the scenario declares no answer for it \
          (add one under http_calls; it was answered with a failure)"]
    );
}

#[test]
fn a_trap_fails_its_case_with_a_backtrace_and_the_next_case_runs() {
    let f = Fixture::new();
    let module = f.load("trap.wat");
    let report = f.run(
        &module,
        r#"
cases:
  - name: boom
    request: {headers: {":path": /boom}}
  - name: the restarted VM serves the next request, and metrics survived
    request: {headers: {":path": /fine}}
    expect:
      metrics: {requests_total: 2}
"#,
    );
    let lines = failed_lines(&report, "boom");
    let message = &lines[0];
    assert!(
        message.starts_with("the filter trapped in proxy_on_request_headers: wasm `unreachable` instruction executed"),
        "{message}"
    );
    assert!(message.contains("wasm backtrace:"), "{message}");
    assert!(message.contains("explode_in_filter"), "{message}");
    assert!(message.contains("proxy_on_request_headers"), "{message}");
    // The filter's last words (where a Rust panic's message goes) come with it.
    assert!(lines.contains(&"log critical: about to explode".to_string()), "{lines:?}");
    assert!(report.cases[0].observed.fault.is_some());
    assert!(report.cases[1].outcome.is_passed(), "{}", failures(&report));
}

#[test]
fn an_endless_loop_is_stopped_within_seconds() {
    let f = Fixture::new();
    let module = f.load("loop.wat");
    let started = Instant::now();
    let report = f.run(&module, "cases:\n  - name: spins\n");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(1900), "stopped too early: {elapsed:?}");
    let message = &failed_lines(&report, "spins")[0];
    assert!(
        message.starts_with("the filter ran for more than 2 s in proxy_on_request_headers and was stopped"),
        "{message}"
    );
    assert!(message.contains("spin_forever"), "{message}");
}

#[test]
fn memory_over_the_limit_fails_the_case() {
    let f = Fixture::new();
    let module = f.load("memory.wat");
    let report = f.run(&module, "cases:\n  - name: hog\n  - name: again\n");
    for case in ["hog", "again"] {
        let message = &failed_lines(&report, case)[0];
        assert!(
            message.starts_with(
                "the filter ran out of memory in proxy_on_request_headers: it asked for 313 MiB, over gw's limit of 256 MiB"
            ),
            "{message}"
        );
        assert!(message.contains("hog_memory"), "{message}");
    }
}

#[test]
fn the_memory_limit_counts_every_memory_together() {
    let f = Fixture::new();
    let module = f.load("memories.wat");
    let report = f.run(&module, "cases:\n  - name: six memories\n");
    let message = &failed_lines(&report, "six memories")[0];
    assert!(message.starts_with("the filter ran out of memory in proxy_on_request_headers"), "{message}");
    assert!(message.contains("over gw's limit of 256 MiB"), "{message}");
}

#[test]
fn a_flood_of_log_lines_is_cut_at_the_case_budget() {
    let f = Fixture::new();
    let module = f.load("log_flood.wat");
    let report = f.run(&module, "cases:\n  - name: floods\n  - name: again\n");
    for case in &report.cases {
        let (last, lines) = case.observed.logs.split_last().unwrap();
        assert!(last.message.contains("dropped the rest"), "{}: {}", case.name, last.message);
        let kept: usize = lines.iter().map(|l| l.message.len()).sum();
        assert!(kept <= 16 << 20, "{}: kept {kept} bytes", case.name);
        assert!(kept >= 15 << 20, "{}: kept only {kept} bytes", case.name);
    }
}

#[test]
fn an_unimplemented_import_links_and_fails_the_case_naming_it() {
    let f = Fixture::new();
    let module = f.load("unimplemented.wat");
    let report = f.run(&module, "cases:\n  - name: calls the future\n");
    let message = &failed_lines(&report, "calls the future")[0];
    assert!(
        message.starts_with(
            "the filter called proxy_future_thing, which gw's host does not implement (in proxy_on_request_headers)"
        ),
        "{message}"
    );
}

#[test]
fn a_module_that_is_not_proxy_wasm_fails_every_case() {
    let f = Fixture::new();
    let module = f.load("not_proxy_wasm.wat");
    assert_eq!(module.abi, None);
    let report = f.run(&module, "cases:\n  - name: one\n  - name: two\n");
    assert_eq!(report.failed(), 2);
    let message = &failed_lines(&report, "two")[0];
    assert_eq!(
        message,
        "the plugin did not start: the module is not a proxy-wasm filter: it exports neither \
         proxy_abi_version_0_2_1 nor proxy_abi_version_0_2_0"
    );
}

#[test]
fn abi_0_2_0_modules_run_too() {
    let f = Fixture::new();
    let path = f.dir.path().join("old.wat");
    std::fs::write(
        &path,
        r#"(module
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 0x1000))
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1)))"#,
    )
    .unwrap();
    let module = f.host.load(&path).unwrap();
    assert_eq!(module.abi, Some(AbiVersion::V0_2_0));
    let report = f.run(&module, "cases:\n  - name: paused\n    expect: {action: pause, forwarded: false}\n");
    assert_eq!(report.failed(), 0, "{}", failures(&report));
}

#[test]
fn a_refused_configuration_fails_the_cases_unless_expected() {
    let f = Fixture::new();
    let module = f.load("filter.wat");
    let report = f.run(&module, "plugin_config: reject\ncases:\n  - name: one\n");
    assert_eq!(failed_lines(&report, "one"), ["the plugin did not start: proxy_on_configure returned false"]);

    let report = f.run(&module, "plugin_config: reject\nexpect_start_failure: true\n");
    assert_eq!(report.cases.len(), 1);
    assert!(report.cases[0].outcome.is_passed(), "{}", failures(&report));
    assert_eq!(report.cases[0].name, "plugin start");

    let report = f.run(&module, "plugin_config: fine\nexpect_start_failure: true\n");
    assert!(failed_lines(&report, "plugin start")[0].starts_with("start: expected the plugin to refuse to start"));
}

#[test]
fn scenario_files_are_checked() {
    let f = Fixture::new();
    let module = f.load("filter.wat");
    let path = f.dir.path().join("bad.yaml");
    std::fs::write(&path, "cases:\n  - name: typo\n    expect: {request_header: {a: b}}\n").unwrap();
    let error = f.host.run_scenario_file(&module, &path).unwrap_err();
    assert!(error.is_input());
    let text = error.to_string();
    assert!(
        text.contains("bad.yaml") && text.contains("unknown field `request_header`") && text.contains("line 3"),
        "{text}"
    );
    let report = FileReport::from_error(path.clone(), &error);
    assert_eq!(report.failed(), 1);

    std::fs::write(&path, "properties: {source.port: eighty}\ncases: [{name: a}]\n").unwrap();
    let text = f.host.run_scenario_file(&module, &path).unwrap_err().to_string();
    assert!(text.contains("properties.source.port: expected an integer, got \"eighty\""), "{text}");

    let missing = f.host.run_scenario_file(&module, &f.dir.path().join("missing.yaml")).unwrap_err();
    assert!(!missing.is_input());
}

#[test]
fn compiled_modules_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let first = Host::new(cache.clone()).unwrap().load(&wat("filter.wat")).unwrap();
    assert!(!first.from_cache);
    assert!(first.cache_warning.is_none(), "{:?}", first.cache_warning);

    // Another host (another gw run) finds it on disk.
    let host = Host::new(cache.clone()).unwrap();
    let second = host.load(&wat("filter.wat")).unwrap();
    assert!(second.from_cache);
    assert_eq!(second.sha256, first.sha256);
    let cached = host.cache_path(&first.sha256);
    assert!(cached.is_file());
    assert!(cached.file_name().unwrap().to_string_lossy().starts_with(&first.sha256));
    eprintln!("filter.wat: compiled in {:?}, loaded from the cache in {:?}", first.load_time, second.load_time);

    // The cached module works.
    let scenario = dir.path().join("s.yaml");
    std::fs::write(&scenario, "cases:\n  - name: refused\n    expect: {local_response: {status: 401}}\n").unwrap();
    let report = host.run_scenario_file(&second, &scenario).unwrap();
    assert_eq!(report.failed(), 0, "{}", failures(&report));

    // A damaged cache file is ignored and replaced.
    std::fs::write(&cached, b"not a compiled module").unwrap();
    let third = host.load(&wat("filter.wat")).unwrap();
    assert!(!third.from_cache);
    assert!(
        third.cache_warning.as_deref().unwrap_or_default().contains("ignored the cached"),
        "{:?}",
        third.cache_warning
    );
    assert!(host.load(&wat("filter.wat")).unwrap().from_cache);
}

#[test]
fn an_invalid_module_is_a_compile_error() {
    let f = Fixture::new();
    let path = f.dir.path().join("broken.wasm");
    std::fs::write(&path, b"\0asm\x01\0\0\0garbage").unwrap();
    let error = f.host.load(&path).unwrap_err();
    assert!(error.is_input());
    assert!(error.to_string().contains("broken.wasm is not a WebAssembly module gw can compile"), "{error}");
}

/// A small check that tags nest and close, for the JUnit output.
fn assert_well_formed(xml: &str) {
    let body = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!rest[..start].contains('>'), "stray '>' in text: {:?}", &rest[..start]);
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap().to_string());
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn junit_output_is_well_formed_and_counts_right() {
    let f = Fixture::new();
    let module = f.load("filter.wat");
    let good = f.run(&module, "cases:\n  - name: refused <401>\n    expect: {local_response: {status: 401}}\n");
    let bad = f.run(
        &module,
        "cases:\n  - name: \"quotes \\\" & ampersands\"\n    expect: {request_headers: {x-a: \"<b>\"}}\n  - name: ok\n",
    );
    let xml = junit(&[good, bad]);
    assert_well_formed(&xml);
    assert_eq!(xml.matches("<testsuites ").count(), 1);
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert_eq!(xml.matches("<failure ").count(), 1);
    assert!(xml.contains(r#"<testsuites name="gw test" tests="3" failures="1""#), "{xml}");
    assert!(xml.contains(r#"name="refused &lt;401&gt;""#), "{xml}");
    assert!(xml.contains(r#"name="quotes &quot; &amp; ampersands""#), "{xml}");
    assert!(xml.contains("request_headers.x-a: expected &quot;&lt;b&gt;&quot;, got nothing"), "{xml}");
}

#[test]
fn a_repeated_case_runs_each_time_and_names_the_run_that_failed() {
    let f = Fixture::new();
    let module = f.load("filter.wat");
    // Each refused request counts once; the metric's expectation holds only on the third run.
    let report = f.run(
        &module,
        r#"
cases:
  - name: three refusals
    repeat: 3
    request: {headers: {":path": /api/private}}
    expect:
      local_response: {status: 401}
  - name: the count is exact only once
    repeat: 2
    request: {headers: {":path": /api/private}}
    expect:
      metrics: {auth_denied_total: 4}
"#,
    );
    assert!(report.cases[0].outcome.is_passed(), "{}", failures(&report));
    assert_eq!(report.cases[0].observed.metrics.get("auth_denied_total"), Some(&3));
    let lines = failed_lines(&report, "the count is exact only once");
    assert_eq!(lines[0], "run 2 of 2 (the earlier ones passed):", "{lines:?}");
    assert!(lines.iter().any(|l| l == "metrics.auth_denied_total: expected 4, got 5"), "{lines:?}");
    assert_eq!(report.cases.len(), 2, "a repeated case is one case in the report");
}
