//! `gw fetch` against a loopback index and archives: installs, cache hits,
//! and every way a download can be wrong.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use common::gw::{Gw, envoy_archive};
use common::{Archive, Reply, sha256_hex, wait_until};

const ENVOY: &[u8] = b"#!/bin/sh\necho envoy-1.36.2 \"$@\"\n";

/// Bytes that do not compress, so a throttled archive really takes time.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn installs_then_hits_the_cache_without_any_request() {
    let gw = Gw::new();
    let archive = gw.publish_envoy("1.36.2", ENVOY);
    gw.run(&["fetch", "1.36.2"]).ok();
    let binary = gw.installed("standard", "1.36.2", "envoy");
    assert_eq!(std::fs::read(&binary).unwrap(), ENVOY);
    assert_eq!(std::fs::metadata(&binary).unwrap().permissions().mode() & 0o111, 0o111, "the binary is executable");
    assert_eq!(gw.server.hits(&archive), 1);

    let before = gw.server.total_hits();
    let second = gw.run(&["fetch", "standard:1.36.2"]);
    second.ok();
    assert_eq!(gw.server.total_hits(), before, "a cache hit makes no request");
    assert!(second.stderr.contains("is installed at"), "{}", second.stderr);
    assert!(gw.staging_leftovers().is_empty());

    let which = gw.run(&["which", "1.36.2"]);
    assert_eq!(which.ok().stdout.trim(), binary.display().to_string());
}

#[test]
fn a_minor_version_resolves_to_its_newest_patch() {
    let gw = Gw::new();
    gw.publish_envoy("1.36.1", b"old");
    gw.publish_envoy("1.36.2", b"new");
    gw.publish_envoy("1.37.0", b"next");
    gw.run(&["fetch", "1.36"]).ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.36.2", "envoy")).unwrap(), b"new");
    assert!(!gw.installed("standard", "1.36.1", "envoy").exists());
}

#[test]
fn unpacks_gzip_and_xz() {
    let gw = Gw::new();
    gw.publish_envoy_bytes("1.35.0", "tar.gz", envoy_archive("1.35.0", b"gz").tar_gz(), None);
    gw.publish_envoy_bytes("1.36.0", "tar.xz", envoy_archive("1.36.0", b"xz").tar_xz(), None);
    gw.run(&["fetch", "1.35.0", "1.36.0"]).ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.35.0", "envoy")).unwrap(), b"gz");
    assert_eq!(std::fs::read(gw.installed("standard", "1.36.0", "envoy")).unwrap(), b"xz");
}

#[test]
fn a_checksum_mismatch_installs_nothing() {
    let gw = Gw::new();
    let bytes = envoy_archive("1.36.2", ENVOY).tar_xz();
    let claimed = sha256_hex(b"other bytes");
    gw.publish_envoy_bytes("1.36.2", "tar.xz", bytes.clone(), Some(claimed.clone()));
    let run = gw.run(&["fetch", "1.36.2"]);
    run.fails_with(1, "checksum failed");
    assert!(
        run.stderr.contains(&claimed) && run.stderr.contains(&sha256_hex(&bytes)),
        "names both digests:\n{}",
        run.stderr
    );
    assert!(gw.installed_dirs().is_empty(), "nothing installed: {:?}", gw.installed_dirs());
    assert!(gw.staging_leftovers().is_empty(), "no staging left: {:?}", gw.staging_leftovers());
    gw.run(&["which", "1.36.2"]).fails_with(1, "not installed");
}

#[test]
fn a_truncated_body_is_retried_then_refused() {
    let gw = Gw::new();
    let bytes = envoy_archive("1.36.2", &noise(200_000)).tar_gz();
    let path = gw.publish_envoy_bytes("1.36.2", "tar.gz", bytes.clone(), None);
    gw.server.route(&path, Reply::ok(bytes.clone()).truncate_at(bytes.len() / 2));
    let run = gw.run(&["fetch", "1.36.2"]);
    run.fails_with(1, "stopped early");
    assert_eq!(gw.server.hits(&path), 3, "tried three times");
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
    assert!(gw.installed_dirs().is_empty());
    assert!(gw.staging_leftovers().is_empty());

    // Once the server behaves, the same fetch succeeds.
    gw.server.route(&path, Reply::ok(bytes));
    gw.run(&["fetch", "1.36.2"]).ok();
}

#[test]
fn a_missing_archive_is_a_clear_404() {
    let gw = Gw::new();
    gw.list_in_index(
        "1.36.2",
        "linux/amd64",
        &gw.server.url("/gone/envoy-v1.36.2-linux-amd64.tar.xz"),
        &sha256_hex(b"x"),
    );
    let run = gw.run(&["fetch", "1.36.2"]);
    run.fails_with(1, "answered 404");
    assert!(run.stderr.contains("/gone/envoy-v1.36.2-linux-amd64.tar.xz"), "{}", run.stderr);
    assert_eq!(gw.server.hits("/gone/envoy-v1.36.2-linux-amd64.tar.xz"), 1, "a 404 is not retried");
}

#[test]
fn a_garbage_index_is_refused() {
    let gw = Gw::new();
    gw.server.route(common::gw::INDEX_PATH, Reply::ok("<html>maintenance</html>"));
    gw.run(&["fetch", "1.36"]).fails_with(1, "is not an envoy-versions.json");
}

#[test]
fn an_unknown_version_names_nearby_ones() {
    let gw = Gw::new();
    gw.publish_envoy("1.36.1", b"a");
    gw.publish_envoy("1.36.2", b"b");
    let run = gw.run(&["fetch", "1.36.9"]);
    run.fails_with(2, "nearby: 1.36.2, 1.36.1");
    // A release the index lacks is looked for as an image; the error names both places.
    gw.run(&["fetch", "standard:1.15.0"])
        .fails_with(2, "docker.io/envoyproxy/envoy:v1.15.0 does not exist and is not in the Envoy index at");
    gw.run(&["fetch", "cilium:1.99.0"]).fails_with(2, "is not in gw's catalogue of images");
}

#[test]
fn an_unsupported_platform_is_named() {
    let gw = Gw::new();
    gw.publish_envoy("1.36.2", b"a");
    gw.run(&["fetch", "1.36.2/darwin/arm64"])
        .fails_with(2, "has no build for darwin/arm64; builds exist for: linux/amd64");
    gw.run(&["fetch", "1.36.2/plan9/amd64"]).fails_with(2, "unknown platform 'plan9/amd64'");
    let run = gw.command(&["fetch", "1.36.2"]).env("GW_PLATFORM", "solaris/sparc").output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("GW_PLATFORM is set to 'solaris/sparc'"));
}

#[test]
fn bad_references_are_usage_errors() {
    let gw = Gw::new();
    gw.run(&["fetch", "nope:1.2.3"]).fails_with(2, "unknown flavor 'nope'");
    gw.run(&["fetch", "1.x"]).fails_with(2, "'1.x' is not a version");
    gw.run(&["fetch"]).fails_with(2, "required");
}

#[test]
fn eight_concurrent_fetches_share_one_download() {
    let gw = Gw::new();
    let bytes = envoy_archive("1.36.2", &noise(300_000)).tar_gz();
    let path = gw.publish_envoy_bytes("1.36.2", "tar.gz", bytes.clone(), None);
    // Slow enough that all eight start while the first is still downloading.
    gw.server.route(&path, Reply::ok(bytes).throttle(16 * 1024, Duration::from_millis(25)));
    let children: Vec<_> = (0..8)
        .map(|_| gw.command(&["fetch", "1.36.2"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    let mut waited = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        waited += usize::from(stderr.contains("waiting for another gw"));
    }
    assert_eq!(gw.server.hits(&path), 1, "one download for eight installers");
    assert!(waited >= 1, "the others waited on the lock");
    assert_eq!(gw.installed_dirs().len(), 1);
    assert!(gw.staging_leftovers().is_empty());
}

#[test]
fn concurrent_fetches_in_a_project_keep_every_pin() {
    let gw = Gw::new();
    std::fs::write(gw.work().join("gw.toml"), "# a gw project\n").unwrap();
    let versions: Vec<String> = (0..8).map(|patch| format!("1.36.{patch}")).collect();
    for version in &versions {
        gw.publish_envoy(version, version.as_bytes());
    }
    let children: Vec<_> = versions
        .iter()
        .map(|v| gw.command(&["fetch", v]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let lock = std::fs::read_to_string(gw.work().join("gw.lock")).unwrap();
    for version in &versions {
        assert!(lock.contains(&format!("name = \"standard:{version}/linux/amd64\"")), "{version} is pinned:\n{lock}");
    }
}

#[test]
fn a_fetch_killed_mid_download_leaves_nothing_that_counts() {
    let gw = Gw::new();
    let bytes = envoy_archive("1.36.2", &noise(400_000)).tar_gz();
    let path = gw.publish_envoy_bytes("1.36.2", "tar.gz", bytes.clone(), None);
    gw.server.route(&path, Reply::ok(bytes.clone()).throttle(8 * 1024, Duration::from_millis(50)));
    let mut child = gw.command(&["fetch", "1.36.2"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    assert!(wait_until(Duration::from_secs(20), || gw.server.bytes_sent(&path) > 16 * 1024), "download started");
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(gw.installed_dirs().is_empty(), "a half download is not installed");
    gw.run(&["which", "1.36.2"]).fails_with(1, "not installed");

    gw.server.route(&path, Reply::ok(bytes));
    let run = gw.run(&["fetch", "1.36.2"]);
    run.ok();
    assert!(run.stderr.contains("removed an interrupted install"), "{}", run.stderr);
    assert!(gw.staging_leftovers().is_empty(), "{:?}", gw.staging_leftovers());
    assert!(gw.installed("standard", "1.36.2", "envoy").is_file());
}

#[test]
fn gw_lock_pins_builds_and_refuses_other_bytes() {
    let gw = Gw::new();
    std::fs::write(gw.work().join("gw.toml"), "# a gw project\n").unwrap();
    gw.publish_envoy("1.36.2", b"original");
    let run = gw.run(&["fetch", "1.36.2"]);
    run.ok();
    let lock = std::fs::read_to_string(gw.work().join("gw.lock")).unwrap();
    let original_sha = sha256_hex(envoy_archive("1.36.2", b"original").tar_xz());
    assert!(lock.contains(&original_sha) && lock.contains("standard:1.36.2/linux/amd64"), "{lock}");
    let mode = std::fs::metadata(gw.work().join("gw.lock")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "gw.lock is committed and read by others, as Cargo.lock is");

    // The index now serves another binary for the same version; a fresh GW_HOME must not accept
    // it. gw.lock pins the binary's own digest too, and names both.
    gw.publish_envoy("1.36.2", b"tampered");
    std::fs::remove_dir_all(gw.home()).unwrap();
    let run = gw.run(&["fetch", "1.36.2"]);
    run.fails_with(1, "is pinned in");
    let (original, tampered) = (sha256_hex(b"original"), sha256_hex(b"tampered"));
    assert!(run.stderr.contains(&original) && run.stderr.contains(&tampered), "{}", run.stderr);

    // A lock written before gw kept binary digests refuses other archive bytes outright.
    let old = lock.lines().filter(|l| !l.starts_with("binary_sha256")).collect::<Vec<_>>().join("\n") + "\n";
    std::fs::write(gw.work().join("gw.lock"), &old).unwrap();
    let run = gw.run(&["fetch", "1.36.2"]);
    run.fails_with(1, "is pinned in");
    let new_sha = sha256_hex(envoy_archive("1.36.2", b"tampered").tar_xz());
    assert!(run.stderr.contains(&original_sha) && run.stderr.contains(&new_sha), "{}", run.stderr);
    std::fs::write(gw.work().join("gw.lock"), &lock).unwrap();
    assert!(gw.installed_dirs().is_empty());
    assert_eq!(std::fs::read_to_string(gw.work().join("gw.lock")).unwrap(), lock, "the lock is unchanged");

    // Outside the project the same build installs (nothing pins it there).
    let outside = gw.command(&["fetch", "1.36.2"]).current_dir(gw.root.path()).output().unwrap();
    assert!(outside.status.success(), "{}", String::from_utf8_lossy(&outside.stderr));
}

#[test]
fn offline_falls_back_to_the_cached_index() {
    let gw = Gw::new();
    gw.publish_envoy("1.36.1", b"a");
    gw.publish_envoy("1.36.2", b"b");
    gw.run(&["fetch", "1.36.2"]).ok(); // caches the index
    gw.server.route(common::gw::INDEX_PATH, Reply::status(503));
    let run = gw.run(&["fetch", "1.36.1"]);
    run.ok();
    assert!(run.stderr.contains("offline") && run.stderr.contains("cached"), "{}", run.stderr);
    assert!(gw.installed("standard", "1.36.1", "envoy").is_file());

    // With no cached index at all, a minor version is served by installed builds.
    std::fs::remove_dir_all(gw.home().join("cache")).unwrap();
    let run = gw.run(&["fetch", "1.36"]);
    run.ok();
    assert!(run.stderr.contains("using installed builds only"), "{}", run.stderr);
    let only_index = gw.command(&["fetch", "1.35.0"]).env("GW_ENVOY_SOURCE", "index").output().unwrap();
    common::gw::Run::from(only_index).fails_with(1, "no source of Envoy builds could be reached, and none is cached");
}

#[test]
fn cilium_cli_and_hubble_come_from_release_tarballs() {
    let gw = Gw::new();
    for (repo, name, version) in [("cilium/cilium-cli", "cilium", "0.18.3"), ("cilium/hubble", "hubble", "1.18.0")] {
        let bytes = Archive::new().file(name, format!("#!/bin/sh\necho {name}\n"), 0o755).tar_gz();
        let path = format!("/{repo}/releases/download/v{version}/{name}-linux-amd64.tar.gz");
        gw.server.route(
            &format!("{path}.sha256sum"),
            Reply::ok(format!("{}  {name}-linux-amd64.tar.gz\n", sha256_hex(&bytes))),
        );
        gw.server.route(&path, Reply::ok(bytes));
    }
    gw.run(&["fetch", "cilium-cli:0.18.3", "hubble:1.18.0"]).ok();
    let which = gw.run(&["which", "cilium-cli:0.18.3"]);
    assert_eq!(which.ok().stdout.trim(), gw.installed("cilium-cli", "0.18.3", "cilium").display().to_string());
    assert!(gw.installed("hubble", "1.18.0", "hubble").is_file());

    gw.run(&["fetch", "cilium-cli:0.18"]).fails_with(2, "needs a full version");
    gw.run(&["fetch", "hubble:9.9.9"]).fails_with(2, "has no release at");
    gw.run(&["use", "hubble:1.18.0"]).fails_with(2, "works with Envoy builds");
}

#[test]
fn use_sets_the_default_for_run_and_which() {
    let gw = Gw::new();
    gw.publish_envoy("1.36.2", b"b");
    gw.run(&["which"]).fails_with(2, "no default build");
    gw.run(&["use", "1.36"]).ok();
    assert_eq!(std::fs::read_to_string(gw.home().join("default")).unwrap().trim(), "standard:1.36.2");
    assert!(gw.run(&["which"]).ok().stdout.trim().ends_with("1.36.2/linux-amd64/bin/envoy"));
    let versions = gw.run(&["versions"]);
    assert!(versions.ok().stdout.contains("* standard:1.36.2/linux/amd64"), "{}", versions.stdout);

    // Inside a project the choice goes to gw.toml, comments kept.
    std::fs::write(gw.work().join("gw.toml"), "# keep me\n[project]\nname = \"demo\"\n").unwrap();
    gw.run(&["use", "standard:1.36.2"]).ok();
    let manifest = std::fs::read_to_string(gw.work().join("gw.toml")).unwrap();
    assert!(manifest.contains("# keep me") && manifest.contains("[envoy]\nbuild = \"standard:1.36.2\""), "{manifest}");
}

#[test]
fn versions_lists_installed_and_available_as_text_and_json() {
    let gw = Gw::new();
    gw.publish_envoy("1.36.1", b"a");
    gw.publish_envoy("1.36.2", b"b");
    gw.run(&["fetch", "1.36.1"]).ok();
    let text = gw.run(&["versions", "--all"]);
    let lines: Vec<&str> = text.ok().stdout.lines().collect();
    assert!(lines.iter().any(|l| l.contains("standard:1.36.1/linux/amd64") && l.contains("installed")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("standard:1.36.2/linux/amd64") && l.contains("available")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("cilium:1.31.5/linux/amd64") && l.contains("image")), "{lines:?}");
    let all: serde_json::Value = serde_json::from_str(&gw.run(&["versions", "--all", "--json"]).ok().stdout).unwrap();
    let cilium = all.as_array().unwrap().iter().find(|r| r["reference"] == "cilium:1.31.5/linux/amd64").unwrap();
    assert!(cilium["image"].as_str().unwrap().starts_with("quay.io/cilium/cilium-envoy:v1.31.5-"), "{cilium}");
    let json: serde_json::Value = serde_json::from_str(&gw.run(&["versions", "--json"]).ok().stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["version"], "1.36.1");
    assert_eq!(json[0]["sha256"], sha256_hex(envoy_archive("1.36.1", b"a").tar_xz()));
}
