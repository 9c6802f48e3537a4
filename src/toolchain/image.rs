//! The builder image: a Dockerfile carried inside gw, built through the
//! Docker API when missing, tagged by gw's version and a hash of the recipe
//! so that a new gw never runs a stale image.

use std::collections::HashMap;

use crate::download::Sha256;

/// The default recipe (Debian's Rust 1.96 with wasm-ld and the BPF core
/// library, bpf-linker built against the same LLVM).
pub const RECIPE: &str = include_str!("recipe/Dockerfile");

/// The base image the recipe starts from unless told otherwise.
pub const DEFAULT_BASE: &str = "debian:bookworm-slim";

/// File name of the host CA bundle inside the build context.
pub const CA_FILE: &str = "host-ca.crt";

#[derive(Debug, Clone)]
pub struct BuilderImage {
    pub tag: String,
    /// The recipe and base it is built from; None for a user's own image.
    pub recipe: Option<(String, String)>,
}

impl BuilderImage {
    /// gw's own image for a base; the tag changes with gw's version, the
    /// recipe, the base and whether the host's CA bundle is baked in.
    pub fn gw(base: &str, with_host_ca: bool) -> BuilderImage {
        let hashed = format!("{RECIPE}\n{base}\n{with_host_ca}");
        let digest = Sha256::of_bytes(hashed.as_bytes());
        let tag = format!("gw-builder:{}-{}", env!("CARGO_PKG_VERSION"), &digest.as_str()[..12]);
        BuilderImage { tag, recipe: Some((RECIPE.to_string(), base.to_string())) }
    }

    /// An image the user names (GW_BUILDER_IMAGE / --builder-image); used as it is.
    pub fn custom(tag: &str) -> BuilderImage {
        BuilderImage { tag: tag.to_string(), recipe: None }
    }

    /// The build context: the Dockerfile and the CA bundle (empty if none).
    pub fn context(recipe: &str, ca_bundle: Option<&[u8]>) -> std::io::Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, bytes) in [("Dockerfile", recipe.as_bytes()), (CA_FILE, ca_bundle.unwrap_or_default())] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, bytes)?;
        }
        tar.into_inner()
    }

    /// Build arguments: the base, and the host's proxy settings when passed through.
    pub fn build_args(base: &str, proxies: &[(String, String)]) -> HashMap<String, String> {
        let mut args = HashMap::from([("BASE".to_string(), base.to_string())]);
        args.extend(proxies.iter().cloned());
        args
    }
}
