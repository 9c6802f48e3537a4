//! From a reference to a concrete build: installed already, or where to
//! download it and which sha256 it must have. Standard Envoy builds are
//! looked for through their sources (`source`), images through `image`,
//! cilium-cli and hubble on GitHub.

use super::context::Context;
use super::github;
use super::image::resolve_image;
use super::reference::{Build, Flavor, Reference, Version};
use super::resolved::{Download, Resolved};
use super::source;
use super::store::is_installed;
use super::{Error, Result};

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
