//! install.sh against a fake release served on loopback.
//!
//! The script lives in gw's own checkout, so release mode needs
//! `--from-release` here; GW_INSTALL_PLATFORM pins the platform so the same
//! archive name is asked for on every machine.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::server::{Reply, TestServer};
use common::{Archive, sha256_hex};

const FAKE_GW: &str = "#!/bin/sh\necho fake-gw 9.9.9\n";
const TARBALL: &str = "/v9.9.9/gw-9.9.9-linux-amd64.tar.gz";
const CHECKSUM: &str = "/v9.9.9/gw-9.9.9-linux-amd64.tar.gz.sha256";

/// The release layout: one top folder holding `gw`.
fn release_tarball() -> Vec<u8> {
    Archive::new().dir("gw-9.9.9-linux-amd64").file("gw-9.9.9-linux-amd64/gw", FAKE_GW, 0o755).tar_gz()
}

/// `<hex>  <filename>`, as `sha256sum` writes it.
fn checksum_file(hex: &str) -> String {
    format!("{hex}  gw-9.9.9-linux-amd64.tar.gz\n")
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// A prefix to install into and a TMPDIR that must be empty again afterwards.
struct Dirs {
    _root: tempfile::TempDir,
    prefix: PathBuf,
    tmp: PathBuf,
}

impl Dirs {
    fn new() -> Dirs {
        let root = tempfile::tempdir().expect("tempdir");
        let prefix = root.path().join("prefix");
        let tmp = root.path().join("tmp");
        std::fs::create_dir(&tmp).expect("create TMPDIR");
        Dirs { _root: root, prefix, tmp }
    }

    fn gw(&self) -> PathBuf {
        self.prefix.join("bin").join("gw")
    }

    /// install.sh's temporary directory is gone (its EXIT trap ran).
    fn assert_tmp_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(&self.tmp).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "install.sh left {left:?} in TMPDIR");
    }
}

/// `sh install.sh --prefix PREFIX ARGS` with only the GW_* settings given here.
fn install_sh(dirs: &Dirs, base_url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let mut cmd = Command::new("sh");
    cmd.arg(script).arg("--prefix").arg(&dirs.prefix).args(args);
    for var in ["GW_PREFIX", "GW_VERSION", "GW_INSTALL_BASE_URL", "GW_INSTALL_PLATFORM", "GW_INSTALL_DRY_RUN"] {
        cmd.env_remove(var);
    }
    // A proxy from the environment must not see requests for the loopback server.
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("TMPDIR", &dirs.tmp)
        .env("GW_INSTALL_BASE_URL", base_url)
        .env("GW_INSTALL_PLATFORM", "linux-amd64")
        .envs(env.iter().copied());
    let out = cmd.output().expect("run sh install.sh");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn release(dirs: &Dirs, srv: &TestServer) -> Run {
    install_sh(dirs, &srv.url("/"), &["--from-release", "--version", "9.9.9"], &[])
}

fn run_installed(gw: &Path) -> String {
    let out = Command::new(gw).output().expect("run the installed gw");
    assert!(out.status.success(), "installed gw failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn release_with_good_checksum_installs_gw() {
    let tarball = release_tarball();
    let srv = TestServer::start();
    srv.route(CHECKSUM, Reply::bytes(200, checksum_file(&sha256_hex(&tarball))));
    srv.route(TARBALL, Reply::bytes(200, tarball));
    let dirs = Dirs::new();

    let run = release(&dirs, &srv);

    assert!(run.ok, "install.sh failed\n{run}");
    let gw = dirs.gw();
    let mode = std::fs::metadata(&gw).expect("PREFIX/bin/gw exists").permissions().mode();
    assert_eq!(mode & 0o777, 0o755, "mode of {}", gw.display());
    assert_eq!(run_installed(&gw), "fake-gw 9.9.9\n");
    assert_eq!(srv.hits(TARBALL), 1);
    assert_eq!(srv.hits(CHECKSUM), 1);
    let bin: Vec<_> = std::fs::read_dir(dirs.prefix.join("bin")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(bin, ["gw"], "only gw in PREFIX/bin, no staging file");
    dirs.assert_tmp_clean();
    assert!(run.stdout.contains(&format!("gw is at {}", gw.display())), "{run}");
    // The temporary prefix is not on PATH, so the script says how to add it.
    let bin_dir = dirs.prefix.join("bin");
    assert!(run.stdout.contains(&format!("export PATH=\"{}:$PATH\"", bin_dir.display())), "{run}");
}

#[test]
fn release_accepts_a_flat_archive_and_replaces_an_old_gw() {
    let tarball = Archive::new().file("gw", FAKE_GW, 0o755).tar_gz();
    let srv = TestServer::start();
    srv.route(CHECKSUM, Reply::bytes(200, checksum_file(&sha256_hex(&tarball))));
    srv.route(TARBALL, Reply::bytes(200, tarball));
    let dirs = Dirs::new();
    std::fs::create_dir_all(dirs.prefix.join("bin")).unwrap();
    std::fs::write(dirs.gw(), "#!/bin/sh\necho old-gw\n").unwrap();

    let run = release(&dirs, &srv);

    assert!(run.ok, "install.sh failed\n{run}");
    assert_eq!(run_installed(&dirs.gw()), "fake-gw 9.9.9\n");
    dirs.assert_tmp_clean();
}

#[test]
fn checksum_mismatch_installs_nothing() {
    let tarball = release_tarball();
    let actual = sha256_hex(&tarball);
    let expected = sha256_hex(b"some other archive");
    let srv = TestServer::start();
    srv.route(CHECKSUM, Reply::bytes(200, checksum_file(&expected)));
    srv.route(TARBALL, Reply::bytes(200, tarball));
    let dirs = Dirs::new();

    let run = release(&dirs, &srv);

    assert!(!run.ok, "install.sh succeeded despite a bad checksum\n{run}");
    let message = format!("install.sh: checksum mismatch for {}: expected {expected}, got {actual}", srv.url(TARBALL));
    assert!(run.stderr.contains(&message), "want {message:?}\n{run}");
    assert!(!dirs.gw().exists(), "gw was installed despite the mismatch");
    assert!(!dirs.prefix.exists(), "the prefix was touched before verification");
    dirs.assert_tmp_clean();
}

#[test]
fn missing_tarball_is_reported() {
    let srv = TestServer::start();
    srv.route(CHECKSUM, Reply::bytes(200, checksum_file(&sha256_hex(release_tarball()))));
    srv.route(TARBALL, Reply::status(404));
    let dirs = Dirs::new();

    let run = release(&dirs, &srv);

    assert!(!run.ok, "install.sh succeeded without a tarball\n{run}");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with(&format!("install.sh: download failed: {}: ", srv.url(TARBALL))), "{run}");
    assert!(first.contains("404"), "{run}");
    assert!(run.stderr.contains("hint: is gw 9.9.9 released for linux-amd64?"), "{run}");
    assert!(!dirs.gw().exists());
    // curl --retry does not retry a 404.
    assert_eq!(srv.hits(TARBALL), 1);
    dirs.assert_tmp_clean();
}

#[test]
fn dry_run_in_a_checkout_chooses_source_mode() {
    let dirs = Dirs::new();
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();

    let run = install_sh(&dirs, "http://127.0.0.1:9/", &[], &[("GW_INSTALL_DRY_RUN", "1")]);

    assert!(run.ok, "{run}");
    let command =
        format!("command: cargo install --locked --path {} --root {}", checkout.display(), dirs.prefix.display());
    assert!(run.stdout.starts_with("mode: source\n"), "{run}");
    assert!(run.stdout.lines().any(|l| l == command), "want {command:?}\n{run}");
    assert!(!dirs.prefix.exists(), "a dry run created the prefix");
}

#[test]
fn dry_run_with_from_release_chooses_release_mode() {
    let srv = TestServer::start();
    let dirs = Dirs::new();

    let run =
        install_sh(&dirs, &srv.url("/"), &["--from-release", "--version", "9.9.9"], &[("GW_INSTALL_DRY_RUN", "1")]);

    assert!(run.ok, "{run}");
    assert!(run.stdout.starts_with("mode: release\n"), "{run}");
    assert!(run.stdout.lines().any(|l| l == "platform: linux-amd64"), "{run}");
    assert!(run.stdout.lines().any(|l| l == format!("url: {}", srv.url(TARBALL))), "{run}");
    assert_eq!(srv.total_hits(), 0, "a dry run downloaded something");
    assert!(!dirs.prefix.exists(), "a dry run created the prefix");
}

#[test]
fn unsupported_platform_names_the_supported_ones() {
    let dirs = Dirs::new();

    let run =
        install_sh(&dirs, "http://127.0.0.1:9/", &["--from-release"], &[("GW_INSTALL_PLATFORM", "linux-riscv64")]);

    assert!(!run.ok, "{run}");
    assert!(run.stderr.contains("linux-riscv64"), "{run}");
    assert!(run.stderr.contains("supported: linux-amd64, linux-arm64, darwin-amd64, darwin-arm64"), "{run}");
}
