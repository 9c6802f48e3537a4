//! A gw under test: its own GW_HOME and working directory, and a loopback
//! server standing in for the Envoy index, the archive and GitHub.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use super::archive::{Archive, envoy_index, sha256_hex};
use super::pypi;
use super::server::{Reply, TestServer};

pub const INDEX_PATH: &str = "/envoy/envoy-versions.json";
pub const PLATFORM: &str = "linux/amd64";

pub struct Gw {
    pub root: tempfile::TempDir,
    pub server: TestServer,
    /// The package index on the same server (GW_PYPI_INDEX_URL).
    pub pypi: pypi::Index,
    published: Mutex<Vec<(String, String, String, String)>>,
}

/// What a command did, with its output as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    pub fn fails_with(&self, code: i32, needle: &str) -> &Self {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        self
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// An Envoy archive in the layout of func-e's: `envoy-v<V>-linux-amd64/bin/envoy`.
pub fn envoy_archive(version: &str, binary: &[u8]) -> Archive {
    let top = format!("envoy-v{version}-linux-amd64");
    Archive::new().dir(&top).dir(&format!("{top}/bin")).file(&format!("{top}/bin/envoy"), binary, 0o644)
}

impl Gw {
    pub fn new() -> Gw {
        let root = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        std::fs::create_dir_all(root.path().join("work")).unwrap();
        let server = TestServer::start();
        server.route(INDEX_PATH, Reply::ok(envoy_index(&[])));
        Gw { root, server, pypi: pypi::Index::default(), published: Mutex::new(Vec::new()) }
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    pub fn index_url(&self) -> String {
        self.server.url(INDEX_PATH)
    }

    /// `gw` with this fixture's environment, run in its working directory, no stdin.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.tty_command(args);
        command.stdin(Stdio::null());
        command
    }

    /// The same, with stdin left for the caller to connect (a pseudo-terminal).
    pub fn tty_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gw"));
        command
            .args(args)
            .current_dir(self.work())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("GW_HOME", self.home())
            .env("GW_ENVOY_VERSIONS_URL", self.index_url())
            .env("GW_PYPI_INDEX_URL", self.server.url(pypi::ROOT))
            .env("GW_GITHUB_URL", self.server.base_url())
            // Image sources go to the loopback server too: no test reaches the internet.
            .env("GW_REGISTRY_MIRROR", self.server.base_url())
            .env("GW_PLATFORM", PLATFORM)
            .env("NO_COLOR", "1");
        // The fixture's HOME hides the caller's Rust toolchain; point at it.
        let real_home = std::env::home_dir().unwrap_or_default();
        for (name, default) in [("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")] {
            let value = std::env::var_os(name).unwrap_or_else(|| real_home.join(default).into_os_string());
            command.env(name, value);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("gw runs").into()
    }

    /// Serves `bytes` as the Envoy `version` archive (`tar.gz` or `tar.xz`)
    /// and lists it in the index with `sha256` (the bytes' own if None).
    pub fn publish_envoy_bytes(&self, version: &str, ext: &str, bytes: Vec<u8>, sha256: Option<String>) -> String {
        let path = format!("/envoy/download/v{version}/envoy-v{version}-linux-amd64.{ext}");
        let sha = sha256.unwrap_or_else(|| sha256_hex(&bytes));
        self.server.route(&path, Reply::ok(bytes));
        self.list_in_index(version, PLATFORM, &self.server.url(&path), &sha);
        path
    }

    /// Publishes an Envoy whose binary is `binary`, as .tar.xz; returns the archive path.
    pub fn publish_envoy(&self, version: &str, binary: &[u8]) -> String {
        self.publish_envoy_bytes(version, "tar.xz", envoy_archive(version, binary).tar_xz(), None)
    }

    pub fn list_in_index(&self, version: &str, platform: &str, url: &str, sha256: &str) {
        let mut published = self.published.lock().unwrap();
        published.retain(|(v, p, _, _)| !(v == version && p == platform));
        published.push((version.into(), platform.into(), url.into(), sha256.into()));
        let entries: Vec<(&str, &str, &str, &str)> =
            published.iter().map(|(v, p, u, s)| (v.as_str(), p.as_str(), u.as_str(), s.as_str())).collect();
        self.server.route(INDEX_PATH, Reply::ok(envoy_index(&entries)));
    }

    /// Where gw installs a build's binary.
    pub fn installed(&self, flavor: &str, version: &str, binary: &str) -> PathBuf {
        self.home().join("builds").join(flavor).join(version).join("linux-amd64/bin").join(binary)
    }

    /// Names of everything in GW_HOME/tmp (interrupted or failed installs leave none behind).
    pub fn staging_leftovers(&self) -> Vec<String> {
        list(&self.home().join("tmp"))
    }

    /// Every build directory under GW_HOME/builds (empty when nothing was installed).
    pub fn installed_dirs(&self) -> Vec<String> {
        let mut found = Vec::new();
        walk(&self.home().join("builds"), &mut found);
        found.into_iter().filter(|p| p.ends_with("linux-amd64")).collect()
    }
}

pub fn list(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push(path.display().to_string());
            walk(&path, out);
        }
    }
}
