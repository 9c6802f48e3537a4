//! Publishing a Wasm module as an OCI artifact, and reading one back.
//!
//! Two layouts of the wasm image spec, both of which Istio's and Envoy
//! Gateway's fetchers read:
//! - "oci" (the default): one layer holding the module, media type
//!   `application/vnd.module.wasm.content.layer.v1+wasm`, titled `plugin.wasm`,
//!   and a small JSON config naming the ABI the module exports;
//! - "compat": an ordinary image of one gzipped tar layer holding
//!   `plugin.wasm`, for registries and tools that take only container images.

use std::collections::BTreeMap;

use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use serde::Serialize;

use super::client::Registry;
use super::manifest::{self, Descriptor, Document, Manifest};
use super::pull::read_blob;
use super::{Digest, Error};
use crate::report::Reporter;

/// The artifact's config, the wasm image spec's `module.wasm.config.Runtime`:
/// what kind of module it is, for runtimes that check.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    abi_versions: Vec<String>,
    config: EnvoyConfig,
}

/// `module.wasm.config.EnvoyConfig`. Root ids are chosen by the config that
/// loads the module, so a module cannot name them; the list stays empty.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvoyConfig {
    root_ids: Vec<String>,
}

/// Which layout of the wasm image spec to push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Wasm,
    Compat,
}

/// How blobs are uploaded.
#[derive(Debug, Clone, Copy)]
pub enum Upload {
    /// One PUT with the whole blob.
    Monolithic,
    /// PATCH requests of this many bytes, then a closing PUT.
    Chunked(usize),
}

/// What was published.
pub struct Pushed {
    pub digest: Digest,
    pub size: u64,
    pub layer: Digest,
}

/// Uploads the module and its config, then the manifest under the image's tag.
pub fn push_wasm(
    registry: &Registry,
    wasm: &[u8],
    abi_versions: Vec<String>,
    (format, upload): (Format, Upload),
) -> Result<Pushed, Error> {
    let (config, layer) = match format {
        Format::Wasm => {
            let config = serde_json::to_vec(&WasmConfig {
                kind: "envoy_proxy",
                abi_versions,
                config: EnvoyConfig { root_ids: Vec::new() },
            })
            .expect("the config serialises");
            let config = upload_blob(registry, &config, manifest::WASM_CONFIG, upload)?;
            let mut layer = upload_blob(registry, wasm, manifest::WASM_LAYER, upload)?;
            layer.annotations.insert(manifest::TITLE_ANNOTATION.into(), manifest::WASM_TITLE.into());
            (config, layer)
        }
        Format::Compat => {
            let (tar, gzipped) = compat_layer(wasm)?;
            let config = serde_json::json!({
                "architecture": "wasm",
                "os": "wasip1",
                "config": {},
                "rootfs": { "type": "layers", "diff_ids": [Digest::of(&tar).to_string()] }
            });
            let config = upload_blob(registry, config.to_string().as_bytes(), manifest::OCI_CONFIG, upload)?;
            (config, upload_blob(registry, &gzipped, manifest::OCI_LAYER_GZIP, upload)?)
        }
    };
    let layer_digest = layer.digest.clone();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(manifest::OCI_MANIFEST.into()),
        config,
        layers: vec![layer],
        annotations: BTreeMap::new(),
    };
    let body = serde_json::to_vec(&manifest).expect("a manifest serialises");
    let digest = Digest::of(&body);
    let reference = registry.image().reference();
    let url = registry.url(&format!("manifests/{reference}"));
    let response =
        registry.send(Method::PUT, &url, &|r| r.header(CONTENT_TYPE, manifest::OCI_MANIFEST).body(body.clone()))?;
    registry.check(response, &format!("manifest {reference}"))?;
    Ok(Pushed { digest, size: body.len() as u64, layer: layer_digest })
}

/// The compat layer: a tar of `plugin.wasm` alone, and the same gzipped.
fn compat_layer(wasm: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(wasm.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder.append_data(&mut header, manifest::WASM_TITLE, wasm).map_err(Error::Io)?;
    let tar = builder.into_inner().map_err(Error::Io)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &tar).map_err(Error::Io)?;
    let gzipped = encoder.finish().map_err(Error::Io)?;
    Ok((tar, gzipped))
}

/// Uploads one blob unless the registry has it already.
fn upload_blob(registry: &Registry, bytes: &[u8], media_type: &str, upload: Upload) -> Result<Descriptor, Error> {
    let digest = Digest::of(bytes);
    let descriptor = Descriptor {
        media_type: media_type.into(),
        digest: digest.clone(),
        size: bytes.len() as u64,
        platform: None,
        annotations: BTreeMap::new(),
    };
    let head = registry.send(Method::HEAD, &registry.url(&format!("blobs/{digest}")), &|r| r)?;
    if head.status().is_success() {
        return Ok(descriptor);
    }
    let start = registry.send(Method::POST, &registry.url("blobs/uploads/"), &|r| r.header(CONTENT_LENGTH, 0))?;
    let start = registry.check(start, "a blob upload")?;
    let mut location = location_of(registry, &start)?;
    if let Upload::Chunked(size) = upload {
        let mut offset = 0;
        for chunk in bytes.chunks(size.max(1)) {
            let end = offset + chunk.len() - 1;
            let response = registry.send(Method::PATCH, &location, &|r| {
                r.timeout(upload_time(chunk.len()))
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_RANGE, format!("{offset}-{end}"))
                    .body(chunk.to_vec())
            })?;
            let response = registry.check(response, "a blob chunk")?;
            location = location_of(registry, &response)?;
            offset = end + 1;
        }
    }
    let body = if matches!(upload, Upload::Monolithic) { bytes.to_vec() } else { Vec::new() };
    let finish = with_query(&location, &format!("digest={digest}"));
    let response = registry.send(Method::PUT, &finish, &|r| {
        r.timeout(upload_time(body.len())).header(CONTENT_TYPE, "application/octet-stream").body(body.clone())
    })?;
    registry.check(response, &format!("blob {digest}"))?;
    Ok(descriptor)
}

/// How long one upload request may take: the idle timeout (the client's, for
/// requests without a body, bounds the whole request), plus a second per 256 KiB.
fn upload_time(bytes: usize) -> std::time::Duration {
    let idle = crate::limits::idle_timeout().unwrap_or(std::time::Duration::from_secs(30));
    idle + std::time::Duration::from_secs(bytes as u64 / (256 << 10))
}

/// The upload URL a response points to (relative ones resolved against it).
fn location_of(registry: &Registry, response: &reqwest::blocking::Response) -> Result<String, Error> {
    let location =
        response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(|| Error::BadDocument {
            image: registry.image().to_string(),
            what: "the blob upload".into(),
            reason: "the registry gave no Location for it".into(),
        })?;
    Ok(response.url().join(location).map(|u| u.to_string()).unwrap_or_else(|_| location.to_string()))
}

fn with_query(url: &str, query: &str) -> String {
    if url.contains('?') { format!("{url}&{query}") } else { format!("{url}?{query}") }
}

/// The proxy-wasm ABI versions a module exports, as the spec writes them
/// (`proxy_abi_version_0_2_1` is `v0.2.1`); fails on bytes that are not a module.
pub fn abi_versions(path: &std::path::Path, wasm: &[u8]) -> Result<Vec<String>, Error> {
    let not_wasm = |reason: String| Error::NotWasm { path: path.to_path_buf(), reason };
    let mut versions = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(exports) = payload.map_err(|e| not_wasm(e.to_string()))? {
            for export in exports {
                let export = export.map_err(|e| not_wasm(e.to_string()))?;
                if let Some(version) = export.name.strip_prefix("proxy_abi_version_") {
                    versions.push(format!("v{}", version.replace('_', ".")));
                }
            }
        }
    }
    Ok(versions)
}

/// A pulled module and the manifest digest it came from.
pub struct Pulled {
    pub wasm: Vec<u8>,
    pub digest: Digest,
}

/// Reads the module of a Wasm artifact, verified against its digests.
pub fn pull_wasm(registry: &Registry) -> Result<Pulled, Error> {
    let image = registry.image().to_string();
    let fetched = registry.manifest(&registry.image().reference())?;
    let Document::Manifest(manifest) = fetched.document(registry.image())? else {
        return Err(Error::BadDocument {
            image,
            what: "the manifest".into(),
            reason: "it is an index of platform images, not a Wasm artifact".into(),
        });
    };
    let max_module = crate::limits::max_module()?;
    if let Some(layer) = manifest.layers.iter().find(|l| l.media_type == manifest::WASM_LAYER) {
        let wasm = read_blob(registry, layer, max_module)?;
        return Ok(Pulled { wasm, digest: fetched.digest });
    }
    // The spec's "compat" variant: an ordinary image whose layer holds /plugin.wasm.
    let is_tar = |l: &Descriptor| manifest::layer_compression(&l.media_type).is_some();
    if manifest.layers.is_empty() || !manifest.layers.iter().all(is_tar) {
        return Err(Error::MediaType {
            image,
            what: "every layer".into(),
            media_type: manifest.layers.iter().map(|l| l.media_type.as_str()).collect::<Vec<_>>().join(", "),
        });
    }
    let dir = tempfile::tempdir().map_err(crate::fsutil::at(std::env::temp_dir()))?;
    let path = dir.path().join(manifest::WASM_TITLE);
    let progress = crate::report::Silent.progress("", None);
    let caps = super::pull::Caps { layer: crate::limits::max_unpacked()?, file: max_module };
    super::pull::extract_file(registry, &manifest, "/plugin.wasm", &path, caps, progress.as_ref())?;
    let wasm = fs_err::read(&path)?;
    Ok(Pulled { wasm, digest: fetched.digest })
}
