//! Manifests and indexes, Docker v2 and OCI media types alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Digest;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// What gw asks registries for, in its order of preference.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// How a layer's tar stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    /// Also zstd:chunked, which is zstd frames with skippable ones between.
    Zstd,
}

/// The compression of a filesystem layer, by its media type; None when it is not one.
pub fn layer_compression(media_type: &str) -> Option<Compression> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar" | "application/vnd.docker.image.rootfs.diff.tar" => {
            Some(Compression::None)
        }
        "application/vnd.oci.image.layer.v1.tar+gzip" | "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
            Some(Compression::Gzip)
        }
        "application/vnd.oci.image.layer.v1.tar+zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

/// The Wasm artifact media types (the wasm image spec's "oci" variant, which
/// Istio's WasmPlugin and wasme read).
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
pub const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// The file name Istio looks for; recorded as the layer's title.
pub const WASM_TITLE: &str = "plugin.wasm";
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl std::fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// An image index or manifest list: one manifest per platform.
#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    pub manifests: Vec<Descriptor>,
}

/// An image manifest (or an artifact's): a config and layers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The part of an image config that names its platform.
#[derive(Debug, Deserialize)]
pub struct ImageConfig {
    pub os: Option<String>,
    pub architecture: Option<String>,
}

/// A fetched manifest document, classified by its media type.
pub enum Document {
    Index(Index),
    Manifest(Box<Manifest>),
}

/// The media type of a manifest: the Content-Type header, else the body's own `mediaType`.
pub fn media_type_of(content_type: Option<&str>, body: &[u8]) -> Option<String> {
    let header = content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string());
    if let Some(header) =
        header.filter(|h| [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].contains(&h.as_str()))
    {
        return Some(header);
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(body).ok()?;
    probe.media_type.or_else(|| probe.manifests.map(|_| OCI_INDEX.to_string()))
}
