//! `gw validate`: Envoy configs checked against Envoy's API schema, each problem reported as
//! `<file>:<line>: <path>: <message>`.

mod common;

use common::gw::{Gw, Run};

const DEMO: &str = include_str!("../docs/envoy-demo.yaml");

/// Writes `files` into the fixture's working directory and validates them, in that order.
fn validate(gw: &Gw, files: &[(&str, &str)]) -> Run {
    for (name, text) in files {
        std::fs::write(gw.work().join(name), text).unwrap();
    }
    let mut args = vec!["validate"];
    args.extend(files.iter().map(|(name, _)| *name));
    gw.run(&args)
}

/// The demo with one edit, which must apply.
fn demo_with(from: &str, to: &str) -> String {
    assert!(DEMO.contains(from), "the demo has no {from:?}");
    DEMO.replacen(from, to, 1)
}

fn cluster(body: &str) -> String {
    format!("static_resources:\n  clusters:\n    - name: backend\n{body}")
}

/// One invalid file: exit 2 and exactly this problem line on stdout.
fn rejects(text: &str, expected: &str) {
    let gw = Gw::new();
    let run = validate(&gw, &[("envoy.yaml", text)]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, format!("envoy.yaml:{expected}\n"), "stderr:\n{}", run.stderr);
}

#[test]
fn the_demo_config_is_valid() {
    let gw = Gw::new();
    let run = validate(&gw, &[("envoy-demo.yaml", DEMO)]);
    run.ok();
    assert_eq!(run.stdout, "envoy-demo.yaml: ok\n");
    // The file as shipped, by its own path.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/envoy-demo.yaml");
    let run = gw.run(&["validate", shipped]);
    run.ok();
    assert_eq!(run.stdout, format!("{shipped}: ok\n"));
}

#[test]
fn a_misspelt_field_is_named_with_its_line() {
    rejects(
        &demo_with("static_resources:", "static_resourcs:"),
        "14: static_resourcs: unrecognized field name 'static_resourcs'",
    );
    rejects(
        &demo_with("  listeners:", "  clusterz:"),
        "15: static_resources.clusterz: unrecognized field name 'clusterz'",
    );
}

#[test]
fn an_unknown_type_url_is_named() {
    rejects(
        &demo_with("envoy.extensions.filters.http.router.v3.Router", "envoy.nope.v3.Nope"),
        "42: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config: \
         unknown @type: Envoy's API has no message envoy.nope.v3.Nope",
    );
}

#[test]
fn a_bad_duration_and_a_bad_enum_are_reported() {
    rejects(
        &cluster("      connect_timeout: 5 seconds\n"),
        "4: static_resources.clusters[0].connect_timeout: failed to parse duration",
    );
    rejects(
        &cluster("      lb_policy: FASTEST\n"),
        "4: static_resources.clusters[0].lb_policy: unrecognized enum value 'FASTEST'",
    );
}

#[test]
fn a_port_out_of_range_breaks_envoys_validation_rules() {
    rejects(
        &demo_with("port_value: 10000", "port_value: 70000"),
        "20: static_resources.listeners[0].address.socket_address.port_value: \
         value must be less than or equal to 65535",
    );
}

#[test]
fn a_route_without_match_is_missing_a_required_field() {
    // RouteMatch match = 1 [(validate.rules).message = {required: true}]; the line is the route's.
    let text = demo_with(
        "- match:\n                            prefix: /\n                          direct_response:",
        "- direct_response:",
    );
    rejects(
        &text,
        "33: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.\
         virtual_hosts[0].routes[0].match: value is required",
    );
}

#[test]
fn every_file_is_checked_and_one_bad_file_fails_the_run() {
    let gw = Gw::new();
    let bad = cluster("      connect_timeout: 5 seconds\n");
    let run = validate(&gw, &[("good.yaml", DEMO), ("bad.yaml", &bad), ("also-good.yaml", DEMO)]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "good.yaml: ok\n\
         bad.yaml:4: static_resources.clusters[0].connect_timeout: failed to parse duration\n\
         also-good.yaml: ok\n"
    );
}

#[test]
fn several_rule_violations_are_all_reported() {
    let text = cluster("      connect_timeout: 0s\n    - name: ''\n");
    rejects(
        &text,
        "4: static_resources.clusters[0].connect_timeout: value must be greater than 0s\n\
         envoy.yaml:5: static_resources.clusters[1].name: value length must be at least 1 characters",
    );
}

#[test]
fn an_unreadable_file_is_an_input_error_and_the_others_are_still_checked() {
    let gw = Gw::new();
    std::fs::write(gw.work().join("good.yaml"), DEMO).unwrap();
    let run = gw.run(&["validate", "missing.yaml", "good.yaml"]);
    run.fails_with(2, "error: failed to open file `missing.yaml`: No such file or directory");
    assert_eq!(run.stdout, "good.yaml: ok\n");
}

#[test]
fn yaml_that_does_not_parse_is_reported_with_its_line() {
    let gw = Gw::new();
    let text = "admin:\n  address:\n    socket_address: {address: 127.0.0.1, port_value: 9901\n";
    let run = validate(&gw, &[("envoy.yaml", text)]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("envoy.yaml:4: did not find expected ',' or '}'"), "{}", run.stdout);
}

#[test]
fn at_least_one_file_is_required() {
    let gw = Gw::new();
    let run = gw.run(&["validate"]);
    run.fails_with(2, "<FILE>...");
}

// ---- the corpus, judged by real Envoys ----

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/validate-corpus");
const TABLE_START: &str = "<!-- corpus table: made by tests/validate.rs, GW_UPDATE_DOCS=1 rewrites it -->\n";
const TABLE_END: &str = "<!-- end of corpus table -->\n";

fn corpus() -> Vec<String> {
    let mut files: Vec<String> =
        std::fs::read_dir(CORPUS).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    files
}

/// Envoy's own verdict: `--mode validate` run directly.
fn envoy_accepts(envoy: &common::envoy::RealEnvoy, file: &str) -> bool {
    std::process::Command::new(&envoy.binary)
        .args(["--mode", "validate", "--disable-hot-restart", "--log-level", "critical", "-c", file])
        .current_dir(CORPUS)
        .output()
        .unwrap()
        .status
        .success()
}

/// gw validate over the whole corpus with `flags`: the files it accepted.
fn gw_accepts(flags: &[&str]) -> (Vec<String>, Run) {
    let files = corpus();
    let run: Run = std::process::Command::new(env!("CARGO_BIN_EXE_gw"))
        .arg("validate")
        .args(flags)
        .args(&files)
        .current_dir(CORPUS)
        .env("GW_HOME", common::envoy::home())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
        .into();
    let refused =
        |file: &str| run.stdout.lines().any(|l| l.starts_with(&format!("{file}:")) && l != format!("{file}: ok"));
    (files.iter().filter(|f| !refused(f)).cloned().collect(), run)
}

#[test]
fn gw_validate_agrees_with_envoy_on_the_corpus() {
    let envoys = common::envoy::all();
    if envoys.is_empty() {
        return;
    }
    let files = corpus();
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    let (schema_ok, _) = gw_accepts(&["--schema-only"]);
    let mut rows: Vec<Vec<String>> = files.iter().map(|f| vec![format!("`{f}`")]).collect();
    for envoy in &envoys {
        let (judged_ok, run) = gw_accepts(&["--envoy", &envoy.version]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        // Envoy's reasons, on the file's line after gw's own problems.
        let name = format!("Envoy {}", envoy.version);
        for (file, reason) in
            [("bad-unknown-cluster.yaml", "unknown cluster 'nowhere'"), ("bad-missing-file.yaml", "/nonexistent/gw/")]
        {
            let line = format!("{file}: {name}: ");
            assert!(run.stdout.lines().any(|l| l.starts_with(&line) && l.contains(reason)), "{}", run.stdout);
        }
        for (file, row) in files.iter().zip(&mut rows) {
            let accepts = envoy_accepts(envoy, file);
            // The corpus says what Envoy does: ok-* it accepts, bad-* it refuses.
            assert_eq!(accepts, file.starts_with("ok-"), "Envoy {} on {file}", envoy.version);
            // gw's schema check alone never refuses what Envoy accepts.
            assert!(
                !accepts || schema_ok.contains(file),
                "gw --schema-only refuses {file}, Envoy {} accepts it",
                envoy.version
            );
            // With Envoy, gw's verdict is Envoy's.
            assert_eq!(judged_ok.contains(file), accepts, "gw --envoy {} on {file}:\n{}", envoy.version, run.stdout);
            row.push(if accepts { "accepts" } else { "refuses" }.into());
        }
    }
    if envoys.len() < common::envoy::LINES.len() {
        return; // the table is made with every line
    }
    for (file, row) in files.iter().zip(&mut rows) {
        row.push(if schema_ok.contains(file) { "accepts" } else { "refuses" }.into());
    }
    let mut table = String::from("| File | Envoy 1.36 | Envoy 1.40 | gw --schema-only |\n|---|---|---|---|\n");
    for row in &rows {
        table.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    let agree = files.iter().zip(&rows).filter(|(_, r)| r[2] == r[3]).count();
    table.push_str(&format!(
        "\nThe schema check alone agrees with Envoy on {agree} of {} files, and refuses none that Envoy accepts.\n",
        files.len()
    ));
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/validate.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let start =
        doc.find(TABLE_START).expect("docs/validate.md has the corpus table's start marker") + TABLE_START.len();
    let end = doc.find(TABLE_END).expect("docs/validate.md has the corpus table's end marker");
    if doc[start..end] != table {
        #[allow(clippy::disallowed_methods)] // a switch of the tests, not a variable gw reads
        let update = std::env::var("GW_UPDATE_DOCS").as_deref() == Ok("1");
        if update {
            std::fs::write(doc_path, format!("{}{table}{}", &doc[..start], &doc[end..])).unwrap();
        } else {
            panic!("docs/validate.md's corpus table is out of date (GW_UPDATE_DOCS=1 rewrites it):\n{table}");
        }
    }
}
