//! When a project's sources last changed: decides whether `gw run` must
//! build first, and what `gw run --watch` reacts to. Polling mtimes is enough
//! for a source tree and needs no platform's file-event API.

use std::path::Path;
use std::time::SystemTime;

/// What a build reads, relative to the project: Cargo's files and every file under src/.
const WATCHED: &[&str] = &["Cargo.toml", "Cargo.lock", "build.rs", "src"];

/// The newest modification time among the project's sources (`None`: none found).
pub fn newest(root: &Path) -> Option<SystemTime> {
    WATCHED.iter().filter_map(|entry| newest_under(&root.join(entry))).max()
}

fn newest_under(path: &Path) -> Option<SystemTime> {
    let meta = fs_err::symlink_metadata(path).ok()?;
    let own = meta.modified().ok();
    if !meta.is_dir() {
        return own;
    }
    let children = fs_err::read_dir(path).ok()?.filter_map(|e| e.ok()).filter_map(|e| newest_under(&e.path()));
    children.chain(own).max()
}

/// Whether `artifact` is missing or older than `newest_source` (from [`newest`]).
pub fn is_stale(artifact: &Path, newest_source: Option<SystemTime>) -> bool {
    let Ok(built) = fs_err::metadata(artifact).and_then(|m| m.modified()) else { return true };
    newest_source.is_some_and(|source| source > built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_newer_source_makes_the_artifact_stale() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("src/nested")).unwrap();
        fs_err::write(dir.path().join("src/nested/lib.rs"), "").unwrap();
        let artifact = dir.path().join("out.wasm");
        assert!(is_stale(&artifact, newest(dir.path())), "missing");
        fs_err::write(&artifact, "").unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        fs_err::File::options().write(true).open(&artifact).unwrap().set_modified(later).unwrap();
        assert!(!is_stale(&artifact, newest(dir.path())));
        let source = fs_err::File::options().write(true).open(dir.path().join("src/nested/lib.rs")).unwrap();
        source.set_modified(later + Duration::from_secs(1)).unwrap();
        assert!(is_stale(&artifact, newest(dir.path())), "a nested source changed");
    }
}
