//! cilium-cli and hubble: GitHub release tarballs beside `.sha256sum` files.

use super::Error;
use super::platform::Platform;
use super::reference::{Flavor, Version};
use crate::download::Sha256;

/// The repository that publishes a flavor's releases.
pub fn repository(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::CiliumCli => "cilium/cilium-cli",
        Flavor::Hubble => "cilium/hubble",
        Flavor::Standard => "envoyproxy/envoy",
        Flavor::Cilium => "cilium/proxy",
    }
}

/// `{base}/cilium/cilium-cli/releases/download/v0.18.3/cilium-linux-amd64.tar.gz`
pub fn tarball_url(base: &str, flavor: Flavor, version: &Version, platform: Platform) -> String {
    format!(
        "{}/{}/releases/download/v{version}/{}-{}.tar.gz",
        base.trim_end_matches('/'),
        repository(flavor),
        flavor.binary(),
        platform.dashed()
    )
}

/// Reads `<hex>  <file>` (or a bare hex digest) for `file`.
pub fn parse_sha256sum(url: &str, text: &str, file: &str) -> Result<Sha256, Error> {
    let bad = || Error::BadChecksumFile { url: url.to_string(), file: file.to_string() };
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(digest), name) = (fields.next(), fields.next()) else { continue };
        let name_matches = name.is_none_or(|n| n.trim_start_matches('*') == file);
        if name_matches {
            return digest.parse().map_err(|_| bad());
        }
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_checksums() {
        let url = tarball_url(
            "https://github.com/",
            Flavor::Hubble,
            &"1.18.0".parse().unwrap(),
            "linux/arm64".parse().unwrap(),
        );
        assert_eq!(url, "https://github.com/cilium/hubble/releases/download/v1.18.0/hubble-linux-arm64.tar.gz");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert!(
            parse_sha256sum("u", &format!("{hex}  hubble-linux-arm64.tar.gz\n"), "hubble-linux-arm64.tar.gz").is_ok()
        );
        assert!(parse_sha256sum("u", &format!("{hex}\n"), "x.tar.gz").is_ok());
        assert!(parse_sha256sum("u", &format!("{hex}  other.tar.gz\n"), "x.tar.gz").is_err());
        assert!(parse_sha256sum("u", "Not Found", "x.tar.gz").is_err());
    }
}
