//! What is installed under GW_HOME: each build's directory with its binary and
//! the marker that says what it is, where it came from and its digests.

use fs_err as fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::layout::Layout;
use super::reference::{Build, Flavor, Reference};
use super::{Error, Result};
use crate::download::Sha256;

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

pub(super) fn is_installed(layout: &Layout, build: &Build) -> bool {
    layout.marker(build).is_file()
}

/// The installed binary's sha256: from its marker, or computed for a build installed
/// before markers kept it.
pub(super) fn binary_digest(layout: &Layout, build: &Build, marker: &Marker) -> Result<Sha256> {
    match &marker.binary_sha256 {
        Some(digest) => Ok(digest.clone()),
        None => {
            let binary = layout.binary(build);
            Ok(Sha256::of_file(&binary)?)
        }
    }
}

pub(super) fn read_marker(layout: &Layout, build: &Build) -> Result<Marker> {
    let path = layout.marker(build);
    let text = fs::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| Error::BadFile { path, reason: e.to_string() })
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
        Err(e) => Err(Error::Io(e)),
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
