//! Helpers shared by the integration tests (`mod common;` in each test file).
// The tests' plumbing reads PATH, CARGO and the tests' own switches; gw's variables go
// through its env_vars registry.
#![allow(dead_code, unused_imports, clippy::disallowed_methods)]

pub mod archive;
pub mod docker;
pub mod envoy;
pub mod flaky;
pub mod gw;
pub mod jwt;
pub mod kube_api;
pub mod oci_layout;
pub mod pypi;
pub mod registry;
pub mod require;
pub mod running;
pub mod server;
pub mod token_service;
pub mod wasm_module;

pub use archive::{Archive, envoy_index, sha256_hex};
pub use server::{Reply, TestServer};

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Path of the `envoy-double` example binary (see tests/envoy-double/envoy_double.rs).
///
/// `cargo test` builds examples, so it is normally already there. When a
/// single test target is run (`cargo test --test x`) and the binary is
/// missing, this builds it once with `cargo build --example envoy-double`.
pub fn envoy_double_path() -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    // target/<profile>/deps/<test-binary> -> target/<profile>/examples/envoy-double
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile dir");
    let path = profile_dir.join("examples").join(format!("envoy-double{}", std::env::consts::EXE_SUFFIX));
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "--quiet", "--example", "envoy-double"]).current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build --example envoy-double");
        assert!(status.success(), "cargo build --example envoy-double failed");
    }
    assert!(path.exists(), "envoy-double not found at {}", path.display());
    path
}

/// Polls `cond` every 10 ms until it returns true or `timeout` passes;
/// returns whether it became true.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A port nothing listens on now, for a server a test starts by port: below the kernel's
/// ephemeral range (where the port-0 binds of Envoy's admin and of other tests land, so none
/// of them can take it first), and never handed out twice in one test process.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let start =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() ^ std::process::id();
    let span = 32768 - 21000;
    for i in 0..span {
        let port = 21000 + ((start + i) % span) as u16;
        if !given.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free port between 21000 and 32767");
}
