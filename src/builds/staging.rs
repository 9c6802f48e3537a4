//! The install transaction every source shares: the build's lock, a staging
//! directory under GW_HOME, and a rename into place once the bytes are
//! verified (and the project's gw.lock agrees with the binary).

use fs_err as fs;
use std::path::{Path, PathBuf};

use super::Result;
use super::context::Context;
use super::layout::MARKER;
use super::lockfile::Lockfile;
use super::reference::Build;
use super::store::{Marker, read_marker};
use crate::download::{InstallLock, Sha256};
use crate::interrupt::RemoveOnInterrupt;
use crate::report::Event;

/// A build ready to use.
#[derive(Debug, Clone)]
pub struct Installed {
    pub build: Build,
    pub binary: PathBuf,
    pub sha256: Sha256,
    /// False when it was installed before this call.
    pub downloaded: bool,
}

/// An install under way: the build's lock held, a staging directory made.
pub(super) struct Staged<'c, 'r> {
    ctx: &'c Context<'r>,
    build: Build,
    _lock: InstallLock,
    // Dropped before `tmp` (fields drop in order): the directory is then removed normally.
    _interrupt: RemoveOnInterrupt,
    pub tmp: tempfile::TempDir,
}

pub(super) enum Begun<'c, 'r> {
    /// Another process installed it while this one waited for the lock.
    Done(Installed),
    Staged(Staged<'c, 'r>),
}

impl<'c, 'r> Staged<'c, 'r> {
    /// Takes the build's lock and makes a staging directory; `expected` is the
    /// digest an install by another process must have to count.
    pub fn begin(ctx: &'c Context<'r>, build: &Build, expected: Option<&Sha256>) -> Result<Begun<'c, 'r>> {
        let layout = &ctx.layout;
        let lock = InstallLock::acquire(&layout.lock(build), || {
            ctx.reporter.event(Event::WaitingForLock { build: build.to_string() })
        })?;
        if let Ok(marker) = read_marker(layout, build)
            && expected.is_none_or(|e| e == &marker.sha256)
        {
            ctx.reporter.event(Event::AlreadyInstalled { build: build.to_string(), path: layout.binary(build) });
            return Ok(Begun::Done(Installed {
                build: build.clone(),
                binary: layout.binary(build),
                sha256: marker.sha256,
                downloaded: false,
            }));
        }
        let staging = layout.staging();
        fs::create_dir_all(&staging)?;
        remove_interrupted(ctx, &staging, build)?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{}.", build.key()))
            .tempdir_in(&staging)
            .map_err(crate::fsutil::at(&staging))?;
        let interrupt = RemoveOnInterrupt::new(tmp.path())?;
        Ok(Begun::Staged(Staged { ctx, build: build.clone(), _lock: lock, _interrupt: interrupt, tmp }))
    }

    /// Writes the marker into `root` (which holds `bin/<binary>`, verified)
    /// and renames it into place, unless the project's gw.lock pins another binary.
    pub fn commit(self, root: &Path, marker: Marker) -> Result<Installed> {
        let (ctx, build) = (self.ctx, &self.build);
        if let (Some(path), Some(binary)) = (ctx.lockfile.as_deref(), &marker.binary_sha256) {
            Lockfile::load(path)?.check_binary(build, binary, &marker.source)?;
        }
        write_marker(&root.join(MARKER), &marker)?;
        let target = ctx.layout.build_dir(build);
        if target.exists() {
            // A directory without a valid marker is debris from outside gw; the lock is ours.
            fs::remove_dir_all(&target)?;
        }
        let parent = target.parent().expect("build directories are nested");
        fs::create_dir_all(parent)?;
        fs::rename(root, &target)?;
        let binary = ctx.layout.binary(build);
        ctx.reporter.event(Event::Installed {
            build: build.to_string(),
            path: binary.clone(),
            sha256: marker.sha256.to_string(),
        });
        Ok(Installed { build: build.clone(), binary, sha256: marker.sha256, downloaded: true })
    }
}

/// Writes gw's record of the build. Whatever the archive put at that name (a
/// link to the binary, a directory) is removed first, and the file is created
/// new, so the record is never written through an archive's entry.
fn write_marker(path: &Path, marker: &Marker) -> Result<()> {
    use std::io::Write;
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path)?,
        Ok(_) => fs::remove_file(path)?,
        Err(_) => {}
    }
    let mut file = fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(&serde_json::to_vec_pretty(marker).expect("a marker serialises"))?;
    Ok(())
}

/// Removes staging directories an interrupted install of this build left
/// (a killed process cannot clean up after itself). Safe: we hold its lock.
fn remove_interrupted(ctx: &Context, staging: &Path, build: &Build) -> Result<()> {
    let prefix = format!("{}.", build.key());
    for entry in fs::read_dir(staging)? {
        let entry = entry.map_err(crate::fsutil::at(&staging))?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let path = entry.path();
            fs::remove_dir_all(&path)?;
            ctx.reporter.event(Event::CleanedStaging { path });
        }
    }
    Ok(())
}
