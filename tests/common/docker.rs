//! Docker for the tests that need it: a test that needs Docker runs in CI
//! (which has it and sets GW_REQUIRE_DOCKER=1); on a machine without a
//! daemon it skips with a printed reason, unless GW_REQUIRE_DOCKER=1.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// Docker tests run one at a time: each is a full cargo build on a small machine.
static SERIAL: Mutex<()> = Mutex::new(());

/// A Docker test's turn. When it ends, after the test's temp dirs are gone
/// (it is taken first, so dropped last), the target volumes of projects that
/// no longer exist are removed: test runs do not fill the disk.
pub struct Turn {
    _serial: MutexGuard<'static, ()>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        for volume in stale_target_volumes() {
            // A volume another test binary's container still uses stays.
            let _ = Command::new("docker").args(["volume", "rm", &volume]).output();
        }
    }
}

/// gw's target volumes whose project directory has no gw.toml any more.
pub fn stale_target_volumes() -> Vec<String> {
    let output = Command::new("docker")
        .args(["volume", "ls", "--filter", "label=dev.gw.cache=target"])
        .args(["--format", "{{.Name}}\t{{.Label \"dev.gw.project\"}}"])
        .output()
        .expect("docker volume ls");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, project)| !Path::new(project).join("gw.toml").is_file())
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The named volumes gw made for the project at `root`.
pub fn gw_volumes(root: &Path) -> Vec<String> {
    let label = format!("label=dev.gw.project={}", root.display());
    let output = Command::new("docker")
        .args(["volume", "ls", "--quiet", "--filter", "label=dev.gw.tool=gw", "--filter", &label])
        .output()
        .expect("docker volume ls");
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

/// None (after saying why) when there is no daemon and it is not required.
pub fn require() -> Option<Turn> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let answers = Command::new("docker").arg("info").output().map(|o| o.status.success()).unwrap_or(false);
    if answers {
        return Some(Turn { _serial: guard });
    }
    super::require::met(super::require::Need::Docker, "no Docker daemon answers `docker info`");
    None
}

/// A copy of `tests/fixtures/<name>` (without build outputs) in a fresh temp dir.
pub fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(name);
    copy_tree(&source, &root);
    (dir, root)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// Containers gw made for the project at `root` that still exist (running or not).
pub fn gw_containers(root: &Path) -> Vec<String> {
    let label = format!("label=dev.gw.project={}", root.display());
    let output = Command::new("docker")
        .args(["ps", "--all", "--quiet", "--filter", "label=dev.gw.tool=gw", "--filter", &label])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}
