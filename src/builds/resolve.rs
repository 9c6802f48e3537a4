//! From a reference to a concrete build: installed already, or where to
//! download it and which sha256 it must have.

use std::cell::OnceCell;
use std::fs;
use std::path::PathBuf;

use super::catalogue;
use super::github;
use super::index::EnvoyIndex;
use super::install::{installed_builds, is_installed, read_marker};
use super::layout::Layout;
use super::platform::Platform;
use super::reference::{Build, Flavor, Reference, Version};
use super::{Error, Result};
use crate::download::{self, Client, Sha256};
use crate::oci::{Digest, ImageRef};
use crate::report::{Event, Reporter};

/// Where builds are fetched from (each overridable for mirrors and tests).
#[derive(Debug, Clone)]
pub struct Sources {
    pub envoy_index: String,
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
}

impl<'a> Context<'a> {
    pub fn new(
        layout: Layout,
        sources: Sources,
        platform: Option<Platform>,
        lockfile: Option<PathBuf>,
        reporter: &'a dyn Reporter,
    ) -> Self {
        Context { layout, sources, platform, lockfile, reporter, client: OnceCell::new() }
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
        Flavor::Standard => resolve_envoy(ctx, reference, platform),
        Flavor::Cilium => resolve_image(ctx, reference, platform),
        Flavor::CiliumCli | Flavor::Hubble => {
            if reference.version.is_minor() {
                return Err(Error::NeedsFullVersion { flavor: reference.flavor, version: reference.version.clone() });
            }
            resolve_github(ctx, exact(&reference.version))
        }
    }
}

fn resolve_envoy(ctx: &Context, reference: &Reference, platform: Platform) -> Result<Resolved> {
    let index = match load_index(ctx)? {
        IndexOutcome::Index(index) => index,
        IndexOutcome::Offline { reason } => {
            // A minor line can still be served by the newest installed patch.
            let newest = installed_builds(&ctx.layout)?
                .into_iter()
                .filter(|b| b.build.flavor == Flavor::Standard && b.build.platform == platform)
                .filter(|b| b.build.version.is_on_line(&reference.version))
                .map(|b| b.build)
                .max();
            return match newest {
                Some(build) if reference.version.is_minor() => Ok(Resolved::Installed(build)),
                _ => Err(Error::Offline { url: ctx.sources.envoy_index.clone(), reason }),
            };
        }
    };
    // `; nearby: 1.36.2, 1.36.1`, or nothing.
    let nearby = |version: &Version| {
        let nearby = index.nearby(version);
        if nearby.is_empty() { String::new() } else { format!("; nearby: {}", nearby.join(", ")) }
    };
    let unknown = || Error::UnknownVersion {
        reference: reference.to_string(),
        index: index.url.clone(),
        nearby: nearby(&reference.version),
    };
    let version = if reference.version.is_minor() {
        index.newest_on_line(&reference.version).ok_or_else(unknown)?.clone()
    } else {
        reference.version.clone()
    };
    let build = Build { flavor: Flavor::Standard, version, platform };
    if is_installed(&ctx.layout, &build) {
        return Ok(Resolved::Installed(build));
    }
    let Some(release) = index.releases.get(&build.version) else {
        // Releases without a tarball (1.15.0 and older among them) are published as images.
        return Ok(match resolve_image(ctx, reference, platform)? {
            Resolved::Image(source) => {
                let not_found = format!(" and is not in the index at {}{}", index.url, nearby(&build.version));
                Resolved::Image(ImageSource { not_found, ..source })
            }
            other => other,
        });
    };
    let url = release.tarballs.get(&platform).ok_or_else(|| Error::NoPlatform {
        reference: format!("standard:{}", build.version),
        platform,
        available: release.tarballs.keys().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
    })?;
    let sha256 = index.sha256_for(url)?;
    Ok(Resolved::Download(Download { build, url: url.clone(), sha256, vouched_by: index.url.clone() }))
}

/// Where the image of a build is, and which digest it must have.
fn resolve_image(ctx: &Context, reference: &Reference, platform: Platform) -> Result<Resolved> {
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

enum IndexOutcome {
    Index(EnvoyIndex),
    Offline { reason: String },
}

/// The index, fresh when the network allows, else the last cached copy.
fn load_index(ctx: &Context) -> Result<IndexOutcome> {
    let url = &ctx.sources.envoy_index;
    let cache = ctx.layout.index_cache(url);
    match ctx.client()?.get_text(url, ctx.reporter) {
        Ok(text) => {
            let index = EnvoyIndex::parse(url, &text)?;
            write_cache(&cache, &text)?;
            Ok(IndexOutcome::Index(index))
        }
        Err(e) if offline(&e) => {
            let reason = e.to_string();
            match fs::read_to_string(&cache) {
                Ok(text) => {
                    ctx.reporter.event(Event::OfflineIndex { url: url.clone(), cache: cache.clone(), reason });
                    Ok(IndexOutcome::Index(EnvoyIndex::parse(url, &text)?))
                }
                Err(_) => {
                    ctx.reporter.event(Event::OfflineInstalled { url: url.clone(), reason: reason.clone() });
                    Ok(IndexOutcome::Offline { reason })
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// For `gw versions --all`: the index, or None when offline with no cache.
pub fn available_versions(ctx: &Context) -> Result<Option<EnvoyIndex>> {
    Ok(match load_index(ctx)? {
        IndexOutcome::Index(index) => Some(index),
        IndexOutcome::Offline { .. } => None,
    })
}

fn offline(error: &download::Error) -> bool {
    error.is_unreachable() || matches!(error, download::Error::Status { status, .. } if *status >= 500)
}

fn write_cache(path: &std::path::Path, text: &str) -> Result<()> {
    let dir = path.parent().expect("cache files live in a directory");
    fs::create_dir_all(dir).map_err(Error::io(dir))?;
    crate::fsutil::write_atomically(path, text.as_bytes(), 0o600).map_err(Error::io(path))
}

/// Where a flavor's releases are listed, for hints.
pub fn releases_page(flavor: Flavor) -> String {
    format!("https://github.com/{}/releases", github::repository(flavor))
}
