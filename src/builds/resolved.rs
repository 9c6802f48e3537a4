//! What resolving a reference decides: the build is installed, or where its
//! bytes come from and the digest they must have.

use super::reference::Build;
use crate::download::Sha256;
use crate::oci::{Digest, ImageRef};

/// What to download for a build, and the digest it must have.
pub(super) struct Download {
    pub build: Build,
    pub url: String,
    pub sha256: Sha256,
    /// What vouches for the digest (the index, a .sha256sum file), for messages.
    pub vouched_by: String,
}

/// A wheel from the package index, and the digest it must have.
pub(super) struct WheelDownload {
    pub build: Build,
    pub url: String,
    pub sha256: Sha256,
    /// The size the index gives; more is never read.
    pub size: Option<u64>,
    /// The project page that vouches for the digest, for messages.
    pub vouched_by: String,
}

/// A build read out of a container image.
pub(super) struct ImageSource {
    pub build: Build,
    /// By tag, or by digest when the reference pins one.
    pub image: ImageRef,
    /// The binary's path inside the image.
    pub path: &'static str,
    /// The digest the tag must resolve to, and who says so.
    pub expected: Option<(Digest, String)>,
    /// Added to the message when the image does not exist (where else gw looked).
    pub not_found: String,
}

pub(super) enum Resolved {
    Installed(Build),
    Download(Download),
    Wheel(WheelDownload),
    Image(ImageSource),
}
