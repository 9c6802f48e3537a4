//! Installing a build from a tarball (the versions index's, or a GitHub
//! release's): download and unpack into the staging directory while hashing,
//! compare the digest, put the binary at `bin/<name>`.

use fs_err as fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::context::Context;
use super::index::file_name;
use super::reference::{Build, Flavor};
use super::resolved::Download;
use super::staging::{Begun, Installed, Staged};
use super::store::Marker;
use super::{Error, Result};
use crate::download::{self, ArchiveFormat, Fault, HashingReader, Sha256, retrying, unpack};
use crate::report::Event;

pub(super) fn install(ctx: &Context, download: &Download) -> Result<Installed> {
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
    let budget = download::Budget::from_env().map_err(download::Error::from)?;
    let mut attempt = 0;
    let unpacked = retrying(&download.url, ctx.reporter, || {
        attempt += 1;
        // What a failed attempt unpacked goes before the next one writes.
        let previous = tmp.path().join(format!("attempt-{}", attempt - 1));
        if previous.exists() {
            fs::remove_dir_all(&previous).map_err(|e| Fault::Fatal(e.into()))?;
        }
        let dir = tmp.path().join(format!("attempt-{attempt}"));
        fs::create_dir(&dir).map_err(|e| Fault::Fatal(e.into()))?;
        fetch_into(ctx, client, download, format, budget, &dir).map(|()| dir)
    })?;

    let root = download::single_top_dir(&unpacked).map_err(crate::fsutil::at(&unpacked))?;
    download::links_stay_inside(&root)
        .map_err(|source| download::Error::Extract { url: download.url.clone(), source })?;
    let binary = place_binary(&root, build)?;
    let binary_sha256 = Some(Sha256::of_file(&binary)?);
    let source = download.url.clone();
    let marker = Marker { build: build.to_string(), source, sha256: download.sha256.clone(), binary_sha256 };
    staged.commit(&root, marker)
}

/// One attempt: stream, hash and unpack into `dir`, then compare digests.
fn fetch_into(
    ctx: &Context,
    client: &download::Client,
    download: &Download,
    format: ArchiveFormat,
    budget: download::Budget,
    dir: &Path,
) -> Result<(), Fault> {
    let url = &download.url;
    let body = client.open(url)?;
    let too_large = || download::Error::TooLarge { url: url.clone(), limit: budget.max_bytes };
    if body.len.is_some_and(|n| n > budget.max_bytes) {
        return Err(Fault::Fatal(too_large()));
    }
    let progress = ctx.reporter.progress(&download.build.to_string(), body.len);
    // A download is never larger than what it may unpack to: an endless body stops there.
    let mut reader = HashingReader::new(Read::take(body.reader, budget.max_bytes + 1), Some(progress.as_ref()));
    let unpacked = unpack(&mut reader, format, dir, budget);
    // Hash whatever the unpacker left unread, so the digest covers every byte
    // (unless the archive was refused already: its digest no longer matters).
    let drained = match &unpacked {
        Err(download::ExtractError::TooLarge { .. }) => Ok(0),
        _ => reader.drain(),
    };
    progress.finish();
    let received = HashingReader::bytes(&reader);
    if received > budget.max_bytes {
        return Err(Fault::Fatal(too_large()));
    }
    let unpacked = match unpacked {
        Err(source @ download::ExtractError::TooLarge { .. }) => {
            return Err(Fault::Fatal(download::Error::Extract { url: url.clone(), source }));
        }
        other => other,
    };
    if reader.source_failed() || drained.is_err() {
        return Err(Fault::Transient(match (body.len, reader.failure()) {
            (_, Some(failure)) if failure.timed_out => client.timed_out(url),
            (Some(expected), _) if received < expected => {
                download::Error::Truncated { url: url.clone(), expected, received }
            }
            (_, failure) => download::Error::Network {
                url: url.clone(),
                reason: failure
                    .map(|f| f.message.clone())
                    .or(drained.err().map(|e| e.to_string()))
                    .unwrap_or_else(|| "the connection failed".into()),
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
        fs::create_dir_all(&bin)?;
        fs::rename(&top, &wanted)?;
    }
    if !is_regular(&wanted) {
        let path = if build.flavor == Flavor::Standard { format!("bin/{name}") } else { name.to_string() };
        return Err(Error::BinaryMissing { build: build.to_string(), path });
    }
    fs::set_permissions(&wanted, std::fs::Permissions::from_mode(0o755))?;
    Ok(wanted)
}

fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).map(|m| m.is_file()).unwrap_or(false)
}
