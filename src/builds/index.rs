//! func-e's `envoy-versions.json`: versions → tarball URL per `os/arch`,
//! and a sha256 per tarball file name.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::Error;
use super::platform::Platform;
use super::reference::Version;
use crate::download::Sha256;

#[derive(Deserialize)]
struct RawIndex {
    versions: BTreeMap<String, RawRelease>,
    sha256sums: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawRelease {
    #[serde(default, rename = "releaseDate", alias = "ReleaseDate")]
    release_date: Option<String>,
    #[serde(default)]
    tarballs: BTreeMap<String, String>,
}

/// One release in the index.
#[derive(Debug, Clone)]
pub struct IndexRelease {
    pub release_date: Option<String>,
    pub tarballs: BTreeMap<Platform, String>,
}

/// A parsed index; every version key, platform and digest was checked.
#[derive(Debug, Clone)]
pub struct EnvoyIndex {
    pub url: String,
    pub releases: BTreeMap<Version, IndexRelease>,
    sha256sums: HashMap<String, Sha256>,
}

impl EnvoyIndex {
    pub fn parse(url: &str, text: &str) -> Result<EnvoyIndex, Error> {
        let bad = |reason: String| Error::BadIndex { url: url.to_string(), reason };
        let raw: RawIndex = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut releases = BTreeMap::new();
        let mut keys: HashMap<Version, String> = HashMap::new();
        for (key, release) in raw.versions {
            let version: Version = key.parse().map_err(|_| bad(format!("'{key}' is not a version")))?;
            if version.is_minor() {
                return Err(bad(format!("'{key}' is not a patch version")));
            }
            // `1.2.3` and `v1.2.3` are one version: which entry is meant cannot be told.
            if let Some(other) = keys.insert(version.clone(), key.clone()) {
                return Err(bad(format!("'{other}' and '{key}' are the same version listed twice")));
            }
            // Platforms gw does not know (say, windows/amd64) are left out, not refused.
            let tarballs = release.tarballs.into_iter().filter_map(|(p, u)| Some((p.parse().ok()?, u))).collect();
            releases.insert(version, IndexRelease { release_date: release.release_date, tarballs });
        }
        let mut sha256sums = HashMap::new();
        for (file, digest) in raw.sha256sums {
            let digest = digest.parse().map_err(|e| bad(format!("sha256sums[{file}]: {e}")))?;
            sha256sums.insert(file, digest);
        }
        Ok(EnvoyIndex { url: url.to_string(), releases, sha256sums })
    }

    /// The newest patch on a minor line, e.g. `1.36` → `1.36.2`.
    pub fn newest_on_line(&self, line: &Version) -> Option<&Version> {
        self.releases.keys().rev().find(|v| v.is_on_line(line))
    }

    /// Up to five versions around `wanted`, for "did you mean" messages.
    pub fn nearby(&self, wanted: &Version) -> Vec<String> {
        let mut same_line: Vec<&Version> =
            self.releases.keys().filter(|v| v.major == wanted.major && v.minor == wanted.minor && !v.debug).collect();
        if same_line.is_empty() {
            let mut all: Vec<&Version> = self.releases.keys().filter(|v| !v.debug).collect();
            all.sort_by_key(|v| (v.major.abs_diff(wanted.major), v.minor.abs_diff(wanted.minor)));
            same_line = all.into_iter().take(5).collect();
            same_line.sort();
        }
        same_line.iter().rev().take(5).map(|v| v.to_string()).collect()
    }

    /// The sha256 the index gives for a tarball URL (keyed by its file name).
    pub fn sha256_for(&self, tarball_url: &str) -> Result<Sha256, Error> {
        let file = file_name(tarball_url);
        self.sha256sums
            .get(file)
            .cloned()
            .ok_or_else(|| Error::MissingChecksum { url: self.url.clone(), file: file.to_string() })
    }
}

/// The last path segment of a URL.
pub fn file_name(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{"latestVersion":"1.36.2","versions":{
        "1.36.1":{"releaseDate":"2025-09-01","tarballs":{"linux/amd64":"https://x/envoy-v1.36.1-linux-amd64.tar.xz"}},
        "1.36.2":{"releaseDate":"2025-10-01","tarballs":{"linux/amd64":"https://x/envoy-v1.36.2-linux-amd64.tar.xz","windows/amd64":"https://x/w.zip"}},
        "1.35.4":{"tarballs":{}}},
        "sha256sums":{"envoy-v1.36.2-linux-amd64.tar.xz":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}}"#;

    #[test]
    fn parses_and_resolves() {
        let index = EnvoyIndex::parse("u", INDEX).unwrap();
        assert_eq!(index.newest_on_line(&"1.36".parse().unwrap()).unwrap().to_string(), "1.36.2");
        assert_eq!(index.releases[&"1.36.2".parse().unwrap()].tarballs.len(), 1);
        assert!(index.sha256_for("https://x/envoy-v1.36.2-linux-amd64.tar.xz").is_ok());
        assert!(matches!(index.sha256_for("https://x/other.tar.xz"), Err(Error::MissingChecksum { .. })));
        assert_eq!(index.nearby(&"1.36.9".parse().unwrap()), ["1.36.2", "1.36.1"]);
        assert_eq!(index.nearby(&"1.15.0".parse().unwrap())[0], "1.36.2");
    }

    #[test]
    fn refuses_a_version_listed_twice() {
        let text = r#"{"versions":{"1.2.3":{"tarballs":{}},"v1.2.3":{"tarballs":{}}},"sha256sums":{}}"#;
        let err = EnvoyIndex::parse("u", text).unwrap_err().to_string();
        assert!(err.contains("'1.2.3' and 'v1.2.3'"), "{err}");
    }

    #[test]
    fn refuses_garbage() {
        assert!(matches!(EnvoyIndex::parse("u", "<html>"), Err(Error::BadIndex { .. })));
        assert!(matches!(
            EnvoyIndex::parse("u", r#"{"versions":{"x":{}},"sha256sums":{}}"#),
            Err(Error::BadIndex { .. })
        ));
        assert!(matches!(
            EnvoyIndex::parse("u", r#"{"versions":{},"sha256sums":{"a":"nothex"}}"#),
            Err(Error::BadIndex { .. })
        ));
    }
}
