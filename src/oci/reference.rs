//! Image references, Docker's grammar: `[registry/]repository[:tag][@sha256:hex]`,
//! with an optional `oci://` scheme as Istio's WasmPlugin writes them.

use std::fmt;
use std::str::FromStr;

use super::Error;
use crate::download::Sha256;

/// Docker Hub's name in references, and the host that serves its API.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A content digest. Only sha256 is in use by registries, so only it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(pub Sha256);

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::of_bytes(bytes))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

impl FromStr for Digest {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix("sha256:").ok_or_else(|| format!("'{s}' is not a sha256:<64 hex> digest"))?;
        hex.parse().map(Digest).map_err(|e| e.to_string())
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// As written (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// `library/debian`, `envoyproxy/envoy`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl ImageRef {
    /// The tag or digest to ask the registry for (a digest wins; no tag means `latest`).
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// The host serving the registry API.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB { DOCKER_HUB_API } else { &self.registry }
    }

    /// The same image pinned to `digest`.
    pub fn pinned(&self, digest: &Digest) -> ImageRef {
        ImageRef { digest: Some(digest.clone()), ..self.clone() }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| Error::Reference { input: input.to_string(), reason: reason.to_string() };
        let s = input.trim();
        let s = s.strip_prefix("oci://").unwrap_or(s);
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        let (name, digest) = match s.split_once('@') {
            Some((name, digest)) => (name, Some(digest.parse::<Digest>().map_err(|e| bad(&e))?)),
            None => (s, None),
        };
        // A tag follows the last ':' after the last '/' (a registry's port comes before it).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(name[last_slash + i + 1..].to_string())),
            None => (name, None),
        };
        if let Some(tag) = &tag
            && (tag.is_empty()
                || tag.len() > 128
                || tag.starts_with(['.', '-'])
                || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)))
        {
            return Err(bad(&format!("'{tag}' is not a valid tag")));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first.to_string(), rest),
            _ => (DOCKER_HUB.to_string(), name),
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.into()
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        };
        if !repository.split('/').all(component_ok) {
            return Err(bad(&format!(
                "'{repository}' is not a repository name (lower-case letters, digits and . _ - between slashes)"
            )));
        }
        Ok(ImageRef { registry, repository, tag, digest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_docker() {
        let r: ImageRef = "envoyproxy/envoy:v1.15.0".parse().unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("docker.io", "envoyproxy/envoy"));
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.reference(), "v1.15.0");
        let r: ImageRef = "debian".parse().unwrap();
        assert_eq!((r.repository.as_str(), r.reference().as_str()), ("library/debian", "latest"));
        let r: ImageRef = "oci://127.0.0.1:5000/acme/filter:1.0".parse().unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("127.0.0.1:5000", "acme/filter"));
        assert_eq!(r.to_string(), "127.0.0.1:5000/acme/filter:1.0");
        let hex = "a".repeat(64);
        let r: ImageRef = format!("localhost:5000/f@sha256:{hex}").parse().unwrap();
        assert_eq!((r.tag.clone(), r.reference()), (None, format!("sha256:{hex}")));
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "Acme/Filter", "ghcr.io/acme/f:", "ghcr.io/acme/f@sha256:xyz", "ghcr.io//f", "f:-x"] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad}");
        }
    }
}
