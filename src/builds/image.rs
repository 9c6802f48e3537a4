//! Builds read out of container images: which image and digest a reference
//! means (the catalogue, a pin in the reference), and installing it straight
//! from the registry: resolve the tag, refuse a digest other than the pinned
//! one, stream the layers (each verified), keep only the binary. Faults that
//! may pass (the connection, a 5xx, 429) are tried again by the same loop as
//! tarballs.

use fs_err as fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::catalogue;
use super::context::Context;
use super::lockfile::Lockfile;
use super::platform::Platform;
use super::reference::{Build, Flavor, Reference};
use super::resolved::{ImageSource, Resolved};
use super::staging::{Begun, Installed, Staged};
use super::store::{Marker, is_installed, read_marker};
use super::{Error, Result};
use crate::download::{Fault, retrying};
use crate::oci::{self, Credentials, Digest, Endpoint, ImageRef, PlatformSpec, Registry};
use crate::report::Event;

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

pub(super) fn install(ctx: &Context, source: &ImageSource, lock: Option<&Lockfile>) -> Result<Installed> {
    let build = &source.build;
    let expected = source.expected.as_ref().map(|(digest, _)| &digest.0);
    let staged = match Staged::begin(ctx, build, expected)? {
        Begun::Done(installed) => return Ok(installed),
        Begun::Staged(staged) => staged,
    };
    let image = &source.image;
    let endpoint = match &ctx.sources.registry_mirror {
        Some(mirror) => Endpoint::mirror(mirror),
        None => Endpoint::of(image, false),
    };
    ctx.reporter.event(Event::Downloading { build: build.to_string(), url: format!("{image} ({})", endpoint.base) });
    let credentials = Credentials::for_registry(&endpoint.login)?;
    let registry = Registry::new(ctx.client()?.http(), endpoint, image, credentials, false);
    let root = staged.tmp.path().join("build");
    let bin = root.join("bin");
    fs::create_dir_all(&bin)?;

    let top = retrying(&image.to_string(), ctx.reporter, || {
        fetch_binary(ctx, source, &registry, lock, &bin).map_err(|e| match e {
            Error::Image(fault) if fault.is_transient() => Fault::Transient(Error::Image(fault)),
            other => Fault::Fatal(other),
        })
    })?;
    let binary = bin.join(build.flavor.binary());
    let binary_sha256 = Some(crate::download::Sha256::of_file(&binary)?);
    let source = image.pinned(&top).to_string();
    let marker = Marker { build: build.to_string(), source, sha256: top.0, binary_sha256 };
    staged.commit(&root, marker)
}

/// One attempt: resolve the tag, check its digest, write the binary into
/// `bin`. Returns the digest the tag resolved to.
fn fetch_binary(
    ctx: &Context,
    source: &ImageSource,
    registry: &Registry,
    lock: Option<&Lockfile>,
    bin: &Path,
) -> Result<Digest> {
    let (build, image) = (&source.build, &source.image);
    let platform = PlatformSpec {
        os: build.platform.os.as_str().into(),
        architecture: build.platform.arch.as_str().into(),
        variant: None,
    };
    let selected = oci::select(registry, &image.reference(), &platform).map_err(|e| match e {
        oci::Error::NotFound { what, .. } if what.starts_with("manifest") => {
            Error::NoImage { reference: build.to_string(), image: image.to_string(), also: source.not_found.clone() }
        }
        other => other.into(),
    })?;
    if let Some((digest, from)) = source.expected.as_ref().filter(|(digest, _)| digest != &selected.top) {
        return Err(Error::DigestMismatch {
            build: build.to_string(),
            pinned: format!("{from} pins {digest}"),
            found: format!("the registry's {image} has {}", selected.top),
        });
    }
    if let Some(lock) = lock {
        lock.check(build, &selected.top.0, &format!("the registry's {image}"))?;
    }
    let binary = bin.join(build.flavor.binary());
    let total = selected.manifest.layers.iter().map(|l| l.size).sum();
    let progress = ctx.reporter.progress(&build.to_string(), Some(total));
    let max = crate::limits::max_unpacked().map_err(oci::Error::from)?;
    let caps = oci::Caps { layer: max, file: max };
    let extracted = oci::extract_file(registry, &selected.manifest, source.path, &binary, caps, progress.as_ref());
    progress.finish();
    extracted?;
    fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))?;
    Ok(selected.top)
}
