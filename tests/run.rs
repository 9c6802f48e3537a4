//! `gw run <ref>` with the Envoy double standing in for Envoy: readiness,
//! signals, the debug bundle, exit codes, and no orphan when gw is killed.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::gw::Gw;
use common::running::{Running, alive};
use common::{envoy_double_path, wait_until};

/// A project-less gw whose Envoy 1.36.2 is the double (a script that execs it).
fn gw_with_double() -> Gw {
    let gw = Gw::new();
    let script = format!("#!/bin/sh\nexec '{}' \"$@\"\n", envoy_double_path().display());
    gw.publish_envoy("1.36.2", script.as_bytes());
    std::fs::write(
        gw.work().join("envoy.yaml"),
        "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n",
    )
    .unwrap();
    gw
}

fn bundles(gw: &Gw) -> Vec<PathBuf> {
    let runs = gw.home().join("runs");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    found.sort();
    found
}

fn bundle_entries(bundle: &Path) -> Vec<(String, String)> {
    let file = std::fs::File::open(bundle).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
            (name, text)
        })
        .collect()
}

#[test]
fn ready_then_ctrl_c_writes_a_bundle() {
    let gw = gw_with_double();
    let mut run = Running::start(&gw, &["run", "1.36.2", "--", "-c", "envoy.yaml"]);
    let pid = run.envoy_pid();
    run.expect("envoy is ready; admin at http://127.0.0.1:");
    run.expect("envoy-double started"); // Envoy's stdout is shown
    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("forwarded SIGINT") && output.contains("caught SIGINT"), "{output}");
    assert!(!alive(pid));

    let bundle = bundles(&gw);
    assert_eq!(bundle.len(), 1, "{bundle:?}");
    let entries = bundle_entries(&bundle[0]);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "stdout.log",
        "stderr.log",
        "command.txt",
        "admin-address.txt",
        "admin/config_dump.json",
        "admin/server_info.json",
        "admin/stats.txt",
        "admin/clusters.txt",
        "admin/listeners.txt",
    ] {
        assert!(names.iter().any(|n| n.ends_with(wanted)), "bundle lacks {wanted}: {names:?}");
    }
    let text = |suffix: &str| entries.iter().find(|(n, _)| n.ends_with(suffix)).unwrap().1.clone();
    assert!(text("config_dump.json").contains("port_value: 0"), "the config dump holds the config");
    assert!(text("stdout.log").contains("envoy-double started"));
    assert!(text("stderr.log").contains("starting main dispatch loop"));
    assert!(text("command.txt").contains("--admin-address-path"), "gw added the admin address path");
}

#[test]
fn the_exit_code_passes_through() {
    let gw = gw_with_double();
    let mut run = Running::start(&gw, &["run", "1.36.2", "--", "-c", "envoy.yaml", "--double-exit-code", "7"]);
    run.expect("envoy is ready");
    run.signal(libc::SIGTERM);
    let (code, output) = run.wait();
    assert_eq!(code, 7, "{output}");
    assert!(output.contains("forwarded SIGTERM"), "{output}");

    let run = Running::start(
        &gw,
        &["run", "1.36.2", "--", "-c", "envoy.yaml", "--double-exit-after-ms", "300", "--double-exit-code", "3"],
    );
    let (code, output) = run.wait();
    assert_eq!(code, 3, "{output}");
    assert!(!output.contains("error:"), "a failed Envoy is not reported twice:\n{output}");
    assert_eq!(bundles(&gw).len(), 2);
}

#[test]
fn a_failing_envoy_is_not_reported_twice() {
    let gw = gw_with_double();
    let run = Running::start(&gw, &["run", "1.36.2", "--", "-c", "missing.yaml"]);
    let (code, output) = run.wait();
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("unable to read file: missing.yaml"), "{output}");
    assert!(!output.contains("error:"), "{output}");
}

#[test]
fn killing_gw_takes_envoy_with_it() {
    let gw = gw_with_double();
    let mut run = Running::start(&gw, &["run", "1.36.2", "--", "-c", "envoy.yaml"]);
    let pid = run.envoy_pid();
    run.expect("envoy is ready");
    assert!(alive(pid));
    run.signal(libc::SIGKILL);
    run.wait();
    assert!(wait_until(Duration::from_secs(10), || !alive(pid)), "envoy {pid} outlived gw");
}

#[test]
fn a_users_admin_address_path_is_kept() {
    let gw = gw_with_double();
    let mine = gw.work().join("my-admin.txt");
    let mut run = Running::start(
        &gw,
        &["run", "1.36.2", "--", "-c", "envoy.yaml", "--admin-address-path", mine.to_str().unwrap()],
    );
    run.expect("envoy is ready");
    assert!(std::fs::read_to_string(&mine).unwrap().starts_with("127.0.0.1:"));
    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{output}");
    let entries = bundle_entries(&bundles(&gw)[0]);
    assert!(!entries.iter().any(|(n, _)| n.ends_with("admin-address.txt")), "gw added no second admin path");
}

#[test]
fn run_uses_the_default_build() {
    let gw = gw_with_double();
    gw.run(&["run", "--", "--version"]).fails_with(2, "no default build");
    gw.run(&["use", "1.36.2"]).ok();
    let run = gw.run(&["run", "--", "--version"]);
    assert!(run.ok().stdout.contains("envoy-double  version"), "{}", run.stdout);
    gw.run(&["run", "cilium-cli:0.18.3"]).fails_with(2, "works with Envoy builds");
}

/// The README's demo config on real Envoys (its ports moved to free ones): gw runs what it is
/// given, the listener answers, Ctrl-C stops Envoy cleanly and a bundle is written.
#[test]
fn a_real_envoy_runs_the_demo_config_and_stops_on_ctrl_c() {
    for envoy in common::envoy::all() {
        let gw = Gw::new();
        gw.publish_real_envoy(&envoy);
        let (listener, admin) = (common::free_port(), common::free_port());
        let demo = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/envoy-demo.yaml")).unwrap();
        let config = demo.replace("port_value: 10000", &format!("port_value: {listener}"));
        let config = config.replace("port_value: 9901", &format!("port_value: {admin}"));
        assert_ne!(config, demo, "docs/envoy-demo.yaml changed its ports; update this test");
        std::fs::write(gw.work().join("demo.yaml"), config).unwrap();

        let mut run = Running::start(&gw, &["run", &envoy.version, "--", "-c", "demo.yaml"]);
        let pid = run.envoy_pid();
        run.expect(&format!("envoy is ready; admin at http://127.0.0.1:{admin}"));
        let client = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
        let answer = client.get(format!("http://127.0.0.1:{listener}/")).send().unwrap();
        assert_eq!(answer.status(), 200, "{}", envoy.version);
        assert_eq!(answer.text().unwrap(), "hello from Envoy, run by gw\n");
        run.signal(libc::SIGINT);
        let (code, output) = run.wait();
        assert_eq!(code, 0, "Envoy {} stops cleanly on SIGINT\n{output}", envoy.version);
        assert!(!alive(pid), "{output}");
        assert_eq!(bundles(&gw).len(), 1, "{output}");
    }
}
