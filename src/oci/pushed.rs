//! What `gw push` last published from a project (`target/gw/pushed.json`):
//! the engines' objects (`gw deploy istio`, `gw deploy envoy-gateway`) point
//! at it, pinned by its digest, and refuse it once the module has changed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRecord {
    /// The reference as pushed, with its tag: `registry/repository:tag`.
    pub image: String,
    /// The manifest's digest, `sha256:…`: what the engines verify a pulled image against.
    pub digest: String,
    /// The module's own sha256 (hex), to tell whether the build changed since.
    pub module_sha256: String,
    /// Whether gw pushed with credentials (a login or helper): the registry is then taken to
    /// need them for pulls too.
    pub credentials: bool,
}

pub const FILE: &str = "pushed.json";

pub fn path(output_dir: &Path) -> PathBuf {
    output_dir.join(FILE)
}

impl PushRecord {
    pub fn read(output_dir: &Path) -> std::io::Result<Option<PushRecord>> {
        match std::fs::read(path(output_dir)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn write(&self, output_dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomically(&path(output_dir), &text, 0o644)
    }

    /// The digest without its algorithm, as the engines' `sha256` fields take it.
    pub fn digest_hex(&self) -> &str {
        self.digest.strip_prefix("sha256:").unwrap_or(&self.digest)
    }
}
