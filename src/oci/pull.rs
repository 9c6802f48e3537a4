//! Reading one file out of an image without Docker: pick the platform's
//! manifest, then read layers from the top down until one holds the file or
//! deletes it (a whiteout). Every blob read is hashed as it streams and
//! compared with its digest before anything taken from it counts.

use fs_err::{self as fs, File};
use std::cell::Cell;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use flate2::read::GzDecoder;

use super::client::Registry;
use super::manifest::{self, Compression, Descriptor, Document, ImageConfig, Manifest, PlatformSpec};
use super::{Digest, Error};
use crate::download::{Bounded, Counted, HashingReader, Sha256};
use crate::report::Progress;

/// The manifest chosen for a platform.
pub struct Selected {
    /// What the tag resolved to (the index's digest when there is one): the pin.
    pub top: Digest,
    pub manifest: Manifest,
}

/// Resolves `reference` (a tag or digest) to the image manifest for `platform`.
pub fn select(registry: &Registry, reference: &str, platform: &PlatformSpec) -> Result<Selected, Error> {
    let image = registry.image().to_string();
    let fetched = registry.manifest(reference)?;
    let top = fetched.digest.clone();
    match fetched.document(registry.image())? {
        Document::Manifest(manifest) => {
            check_single_platform(registry, &manifest, platform)?;
            Ok(Selected { top, manifest: *manifest })
        }
        Document::Index(index) => {
            let listed: Vec<&Descriptor> =
                index.manifests.iter().filter(|d| d.platform.as_ref().is_some_and(|p| p.os != "unknown")).collect();
            let chosen = listed
                .iter()
                .filter(|d| {
                    let p = d.platform.as_ref().expect("filtered on platform");
                    p.os == platform.os && p.architecture == platform.architecture
                })
                // arm64 images may say v8 or nothing; either serves.
                .find(|d| platform.variant.is_none() || d.platform.as_ref().unwrap().variant == platform.variant)
                .ok_or_else(|| Error::NoPlatform {
                    image: image.clone(),
                    platform: platform.to_string(),
                    available: listed
                        .iter()
                        .map(|d| d.platform.as_ref().unwrap().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            let fetched = registry.manifest(&chosen.digest.to_string())?;
            match fetched.document(registry.image())? {
                Document::Manifest(manifest) => Ok(Selected { top, manifest: *manifest }),
                Document::Index(_) => Err(Error::BadDocument {
                    image,
                    what: format!("manifest {}", chosen.digest),
                    reason: "an index lists another index for a platform".into(),
                }),
            }
        }
    }
}

/// A single-platform image says its platform in its config.
fn check_single_platform(registry: &Registry, manifest: &Manifest, platform: &PlatformSpec) -> Result<(), Error> {
    let bytes = read_blob(registry, &manifest.config, 1 << 20)?;
    let Ok(config) = serde_json::from_slice::<ImageConfig>(&bytes) else { return Ok(()) };
    if let (Some(os), Some(architecture)) = (config.os, config.architecture)
        && (os != platform.os || architecture != platform.architecture)
    {
        return Err(Error::NoPlatform {
            image: registry.image().to_string(),
            platform: platform.to_string(),
            available: format!("{os}/{architecture}"),
        });
    }
    Ok(())
}

/// A small blob read whole and verified.
pub fn read_blob(registry: &Registry, descriptor: &Descriptor, limit: u64) -> Result<Vec<u8>, Error> {
    let image = registry.image().to_string();
    if descriptor.size > limit {
        return Err(Error::TooLarge {
            image,
            what: format!("blob {} ({} bytes)", descriptor.digest, descriptor.size),
            limit,
        });
    }
    let response = registry.blob(&descriptor.digest)?;
    // Never past the descriptor's size, whatever the server sends.
    let mut reader = HashingReader::new(response.take(descriptor.size + 1), None);
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| super::client::read_failed(&registry.url(&format!("blobs/{}", descriptor.digest)), &e))?;
    verify(&image, descriptor, reader.finish())?;
    Ok(bytes)
}

fn verify(image: &str, descriptor: &Descriptor, (actual, size): (Sha256, u64)) -> Result<(), Error> {
    let what = || format!("blob {}", descriptor.digest);
    if size != descriptor.size {
        return Err(Error::Size { image: image.to_string(), what: what(), expected: descriptor.size, received: size });
    }
    let actual = Digest(actual);
    if actual != descriptor.digest {
        return Err(Error::Digest {
            image: image.to_string(),
            what: what(),
            expected: descriptor.digest.clone(),
            actual,
        });
    }
    Ok(())
}

/// What [`extract_file`] may read: bytes a layer unpacks to, bytes of the file.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub layer: u64,
    pub file: u64,
}

/// What one layer said about the wanted path.
enum Found {
    File,
    Deleted,
    Absent,
}

/// Writes the file at `path` (absolute, as in the image) to `dest`, reading
/// layers from the top; a layer that unpacks to more than `max.layer` bytes (or
/// is a decompression bomb, see [`Bounded`]), or a file over `max.file`, is refused. The caller puts `dest` in
/// a staging area: on error it may hold bytes that failed verification.
pub fn extract_file(
    registry: &Registry,
    manifest: &Manifest,
    path: &str,
    dest: &Path,
    max: Caps,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let image = registry.image().to_string();
    let wanted = path.trim_start_matches('/');
    let total = manifest.layers.len();
    for (index, layer) in manifest.layers.iter().enumerate().rev() {
        let Some(compression) = manifest::layer_compression(&layer.media_type) else {
            return Err(Error::MediaType {
                image,
                what: format!("layer {} of {total} ({})", index + 1, layer.digest),
                media_type: layer.media_type.clone(),
            });
        };
        let response = registry.blob(&layer.digest)?;
        let url = registry.url(&format!("blobs/{}", layer.digest));
        let layer_name = format!("layer {} of {total} ({})", index + 1, layer.digest);
        // Never past the descriptor's size, whatever the server sends.
        let mut hashing = HashingReader::new(response.take(layer.size + 1), Some(progress));
        let crossed = Rc::new(Cell::new(None));
        let found = {
            let (counted, compressed) = Counted::new(&mut hashing);
            decompress(compression, counted)
                .map(|tar| Bounded::new(tar, compressed, max.layer, Rc::clone(&crossed)))
                .and_then(|tar| scan_layer(tar, wanted, dest, max.file))
        };
        if let Some(reason) = crossed.take() {
            return Err(Error::TooLarge { image, what: format!("{layer_name}, which {reason},"), limit: max.layer });
        }
        // The digest covers the whole blob, including what the scan left unread.
        let drained = hashing.drain();
        if let Some(failure) = hashing.failure() {
            return Err(if failure.timed_out {
                super::client::timed_out(&url)
            } else {
                Error::Network { url, reason: failure.message.clone() }
            });
        }
        if let Err(e) = drained {
            return Err(Error::Network { url, reason: e.to_string() });
        }
        verify(&image, layer, hashing.finish())?;
        match found.map_err(|source| Error::Layer { image: image.clone(), layer: layer_name.clone(), source })? {
            Found::File => return Ok(()),
            Found::Deleted => {
                return Err(Error::PathMissing {
                    image,
                    path: path.into(),
                    reason: format!("{layer_name} deletes it"),
                });
            }
            Found::Absent => {}
        }
    }
    Err(Error::PathMissing { image, path: path.into(), reason: format!("none of its {total} layers holds it") })
}

/// The layer's tar stream out of its blob.
fn decompress<'a>(compression: Compression, blob: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match compression {
        Compression::None => Box::new(blob),
        Compression::Gzip => Box::new(GzDecoder::new(blob)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(blob)?),
    })
}

/// Looks through one layer's tar stream for `wanted` (at most `max` bytes) or a whiteout of it.
fn scan_layer(tar: impl Read, wanted: &str, dest: &Path, max: u64) -> io::Result<Found> {
    let mut archive = tar::Archive::new(tar);
    let mut deleted = false;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let name = raw.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
        let (dir, file) = name.rsplit_once('/').unwrap_or(("", name));
        if let Some(hidden) = file.strip_prefix(".wh.") {
            let within = |base: &str| base.is_empty() || wanted.starts_with(&format!("{base}/"));
            deleted |= if hidden == ".wh..opq" {
                within(dir)
            } else {
                let target = if dir.is_empty() { hidden.to_string() } else { format!("{dir}/{hidden}") };
                wanted == target || wanted.starts_with(&format!("{target}/"))
            };
            continue;
        }
        if name != wanted {
            continue;
        }
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            let link = entry.link_name().ok().flatten().map(|l| format!(" to {}", l.display())).unwrap_or_default();
            return Err(io::Error::other(format!("/{wanted} is a {kind:?} entry{link}, not a regular file")));
        }
        if entry.size() > max {
            let size = entry.size();
            return Err(io::Error::other(format!("/{wanted} is {size} bytes, more than the {max} gw accepts")));
        }
        let mut out = File::create(dest)?;
        io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
        return Ok(Found::File);
    }
    if deleted {
        let _ = fs::remove_file(dest);
        return Ok(Found::Deleted);
    }
    Ok(Found::Absent)
}
