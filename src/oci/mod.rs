//! A small OCI distribution client: read one file out of a container image
//! (how Envoy and cilium-envoy builds that exist only as images are
//! installed), and publish or fetch Wasm modules as OCI artifacts.

mod auth;
mod client;
pub mod manifest;
mod pull;
mod push;
pub mod pushed;
mod reference;

use std::path::PathBuf;

pub use auth::{Credentials, LoginSources};
pub use client::{Endpoint, Registry};
pub use manifest::PlatformSpec;
pub use pull::{Caps, Selected, extract_file, select};
pub use push::{Format, Pulled, Pushed, Upload, abi_versions, pull_wasm, push_wasm};
pub use pushed::PushRecord;
pub use reference::{DOCKER_HUB, Digest, ImageRef};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("'{input}' is not an image reference: {reason}")]
    Reference { input: String, reason: String },
    #[error("could not reach {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("{url} timed out: the registry sent nothing for {seconds} s")]
    TimedOut { url: String, seconds: u64 },
    #[error("{image}: {what}: the registry sent {}; refusing it", size_text(*expected, *received))]
    Size { image: String, what: String, expected: u64, received: u64 },
    #[error("{image}: {what} is larger than the {} gw accepts; refusing it", crate::limits::bytes(*limit))]
    TooLarge { image: String, what: String, limit: u64 },
    #[error(transparent)]
    Limit(#[from] crate::limits::Invalid),
    #[error("{url}: the registry answered {status}{detail}")]
    Status { url: String, status: u16, detail: String },
    #[error("{image}: the registry has no {what}{detail}")]
    NotFound { image: String, what: String, detail: String },
    #[error("{registry} refused access to {image}: {detail}")]
    Unauthorized { registry: String, image: String, detail: String },
    #[error("{image}: {what} has digest {actual}, expected {expected}; refusing it")]
    Digest { image: String, what: String, expected: Digest, actual: Digest },
    #[error("{image} has no image for {platform}; it has: {available}")]
    NoPlatform { image: String, platform: String, available: String },
    #[error("{image} has no file {path}: {reason}")]
    PathMissing { image: String, path: String, reason: String },
    #[error("{image}: {what} has media type {media_type}, which gw cannot read")]
    MediaType { image: String, what: String, media_type: String },
    #[error("{image}: {what} is not valid: {reason}")]
    BadDocument { image: String, what: String, reason: String },
    #[error("{image}: {layer} is not a readable tar: {source}")]
    Layer { image: String, layer: String, source: std::io::Error },
    #[error("{}: not a WebAssembly module: {reason}", path.display())]
    NotWasm { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Credentials { path: PathBuf, reason: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What a blob of the wrong size was, against its descriptor (reads stop one byte past it).
fn size_text(expected: u64, received: u64) -> String {
    if received > expected {
        format!("more than the {expected} bytes its descriptor gives")
    } else {
        format!("{received} of the {expected} bytes its descriptor gives")
    }
}

impl Error {
    /// Whether another try could go better: the connection failed, or the
    /// registry was overloaded (5xx, 429, 408).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } | Error::TimedOut { .. } => true,
            Error::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}

impl crate::diagnose::Diagnose for Error {
    /// Whether the input was at fault (exit code 2).
    fn is_input(&self) -> bool {
        matches!(
            self,
            Error::Reference { .. }
                | Error::NoPlatform { .. }
                | Error::NotFound { .. }
                | Error::NotWasm { .. }
                | Error::Limit(_)
        )
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Unauthorized { registry, .. } => Some(format!(
                "log in with `docker login {registry}` (gw reads ~/.docker/config.json, or $DOCKER_CONFIG/config.json)"
            )),
            Error::Network { url, .. } if url.starts_with("https://") => Some(
                "check the network and proxy settings (`gw doctor`); a registry that speaks plain HTTP needs --insecure \
                 (for build images, a GW_REGISTRY_MIRROR with an http:// URL)"
                    .into(),
            ),
            Error::Network { .. } => Some("check the network and proxy settings (`gw doctor`)".into()),
            Error::TimedOut { .. } => Some(format!(
                "for a slow registry, raise {} (seconds; see docs/security.md#limits)",
                crate::env_vars::GW_HTTP_IDLE_TIMEOUT.name
            )),
            Error::TooLarge { .. } => Some(format!(
                "if it is genuine, raise {} or {} (bytes; see docs/security.md#limits)",
                crate::env_vars::GW_MAX_MODULE.name,
                crate::env_vars::GW_MAX_UNPACKED.name
            )),
            Error::Limit(e) => e.hint(),
            Error::Reference { .. } => {
                Some("expected [registry/]repository[:tag][@sha256:digest], e.g. ghcr.io/acme/filter:1.0".into())
            }
            _ => None,
        }
    }
}
