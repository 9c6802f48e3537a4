//! Build references: `[flavor:]version[/platform]`, GetEnvoy's grammar.

use std::fmt;
use std::str::FromStr;

use super::ReferenceError;
use super::platform::Platform;
use crate::oci::Digest;

/// Which product a build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flavor {
    /// Upstream Envoy, from the func-e style versions index.
    Standard,
    /// Cilium's Envoy (cilium-envoy), read out of its container images.
    Cilium,
    /// The cilium command-line tool, from its GitHub releases.
    CiliumCli,
    /// Hubble's command-line tool, from its GitHub releases.
    Hubble,
}

impl Flavor {
    pub const ALL: [Flavor; 4] = [Flavor::Standard, Flavor::Cilium, Flavor::CiliumCli, Flavor::Hubble];

    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Standard => "standard",
            Flavor::Cilium => "cilium",
            Flavor::CiliumCli => "cilium-cli",
            Flavor::Hubble => "hubble",
        }
    }

    /// The executable a build of this flavor provides.
    pub fn binary(self) -> &'static str {
        match self {
            Flavor::Standard => "envoy",
            Flavor::Cilium => "cilium-envoy",
            Flavor::CiliumCli => "cilium",
            Flavor::Hubble => "hubble",
        }
    }

    /// Whether builds of this flavor are Envoy proxies (what `gw run` starts).
    pub fn is_envoy(self) -> bool {
        matches!(self, Flavor::Standard | Flavor::Cilium)
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flavor {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "standard" => Ok(Flavor::Standard),
            "cilium" | "cilium-envoy" => Ok(Flavor::Cilium),
            "cilium-cli" => Ok(Flavor::CiliumCli),
            "hubble" => Ok(Flavor::Hubble),
            _ => Err(ReferenceError::Flavor(s.to_string())),
        }
    }
}

/// A release version: `1.36.2`, a minor line `1.36`, or func-e's `1.36.2_debug`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    /// None for a minor line such as `1.36`, which resolves to its newest patch.
    pub patch: Option<u32>,
    pub debug: bool,
}

impl Version {
    pub fn is_minor(&self) -> bool {
        self.patch.is_none()
    }

    /// Whether `self`, a patch version, is on the line `minor` names.
    pub fn is_on_line(&self, line: &Version) -> bool {
        self.major == line.major && self.minor == line.minor && self.debug == line.debug
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(patch) = self.patch {
            write!(f, ".{patch}")?;
        }
        if self.debug {
            f.write_str("_debug")?;
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ReferenceError::Version(s.to_string());
        let body = s.strip_prefix('v').unwrap_or(s);
        let (body, debug) = match body.strip_suffix("_debug") {
            Some(rest) => (rest, true),
            None => (body, false),
        };
        let number = |part: &str| -> Result<u32, ReferenceError> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 6 {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let parts: Vec<&str> = body.split('.').collect();
        match parts.as_slice() {
            [major, minor] => Ok(Version { major: number(major)?, minor: number(minor)?, patch: None, debug }),
            [major, minor, patch] => {
                Ok(Version { major: number(major)?, minor: number(minor)?, patch: Some(number(patch)?), debug })
            }
            _ => Err(bad()),
        }
    }
}

/// Which image a build is read out of, when the user says so: a full image
/// tag (`cilium:1.31.5-1739264036-958bef2…`) or a digest (`…@sha256:…`).
/// `ImagePin::default()` means "from the image, not the index" (`--from-image`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ImagePin {
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// What a user asks for: `[flavor:]version[@sha256:digest][/platform]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub flavor: Flavor,
    pub version: Version,
    /// None means the default platform (GW_PLATFORM, else the host).
    pub platform: Option<Platform>,
    /// Some when the build must come from a container image.
    pub image: Option<ImagePin>,
}

impl Reference {
    pub fn new(flavor: Flavor, version: Version, platform: Option<Platform>) -> Reference {
        Reference { flavor, version, platform, image: None }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.image.as_ref().and_then(|pin| pin.tag.as_deref()) {
            Some(tag) => write!(f, "{}:{}", self.flavor, tag.trim_start_matches('v'))?,
            None => write!(f, "{}:{}", self.flavor, self.version)?,
        }
        if let Some(digest) = self.image.as_ref().and_then(|pin| pin.digest.as_ref()) {
            write!(f, "@{digest}")?;
        }
        if let Some(platform) = self.platform {
            write!(f, "/{platform}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        // A digest's own ':' (`@sha256:…`) is not the flavor's.
        let head = s.split_once('@').map_or(s, |(head, _)| head);
        let (flavor, rest) = match head.split_once(':') {
            Some((flavor, _)) => (flavor.parse()?, &s[flavor.len() + 1..]),
            None => (Flavor::Standard, s),
        };
        let (version, platform) = match rest.split_once('/') {
            Some((version, platform)) => (version, Some(platform.parse()?)),
            None => (rest, None),
        };
        let mut image = None;
        let version = match version.split_once('@') {
            Some((version, digest)) => {
                let digest = digest.parse().map_err(ReferenceError::Digest)?;
                image = Some(ImagePin { tag: None, digest: Some(digest) });
                version
            }
            None => version,
        };
        // cilium-envoy tags are `v<envoy version>-<timestamp>-<commit>`.
        let version = match version.split_once('-') {
            Some((envoy, _)) if flavor == Flavor::Cilium => {
                let tag = format!("v{}", version.trim_start_matches('v'));
                image.get_or_insert_with(ImagePin::default).tag = Some(tag);
                envoy
            }
            _ => version,
        };
        Ok(Reference { flavor, version: version.parse()?, platform, image })
    }
}

/// In gw.toml (`[envoy] build = "1.36"`): a string, parsed as a reference.
impl<'de> serde::Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A concrete build: one flavor, one patch version, one platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Build {
    pub flavor: Flavor,
    pub version: Version,
    pub platform: Platform,
}

impl Build {
    /// `standard-1.36.2-linux-amd64`: a file-name-safe key.
    pub fn key(&self) -> String {
        format!("{}-{}-{}", self.flavor, self.version, self.platform.dashed())
    }

    /// The reference that names exactly this build.
    pub fn reference(&self) -> Reference {
        Reference::new(self.flavor, self.version.clone(), Some(self.platform))
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.flavor, self.version, self.platform)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_grammar() {
        let r: Reference = "standard:1.36.2/linux/arm64".parse().unwrap();
        assert_eq!(r.to_string(), "standard:1.36.2/linux/arm64");
        let r: Reference = "1.36".parse().unwrap();
        assert_eq!((r.flavor, r.version.is_minor(), r.platform), (Flavor::Standard, true, None));
        let r: Reference = "cilium-cli:v0.18.3".parse().unwrap();
        assert_eq!(r.to_string(), "cilium-cli:0.18.3");
        let r: Reference = "1.18.3_debug/linux-glibc".parse().unwrap();
        assert!(r.version.debug);
        assert_eq!(r.platform.unwrap().os, super::super::platform::Os::Linux);
    }

    #[test]
    fn parses_image_pins() {
        let r: Reference = "cilium:v1.31.5-1739264036-958bef2/linux/arm64".parse().unwrap();
        assert_eq!((r.flavor, r.version.to_string()), (Flavor::Cilium, "1.31.5".into()));
        assert_eq!(r.image.as_ref().unwrap().tag.as_deref(), Some("v1.31.5-1739264036-958bef2"));
        assert_eq!(r.to_string(), "cilium:1.31.5-1739264036-958bef2/linux/arm64");
        let hex = "b".repeat(64);
        let r: Reference = format!("1.15.0@sha256:{hex}").parse().unwrap();
        assert_eq!(r.image.unwrap().digest.unwrap().to_string(), format!("sha256:{hex}"));
        assert_eq!("cilium-envoy:1.32.6".parse::<Reference>().unwrap().flavor, Flavor::Cilium);
    }

    #[test]
    fn rejects_bad_input_naming_the_part() {
        assert!(matches!("nope:1.2.3".parse::<Reference>(), Err(ReferenceError::Flavor(f)) if f == "nope"));
        assert!(matches!("cilium:1.31.5@sha256:xyz".parse::<Reference>(), Err(ReferenceError::Digest(_))));
        assert!(matches!("1.x".parse::<Reference>(), Err(ReferenceError::Version(v)) if v == "1.x"));
        assert!(matches!("1.2.3.4".parse::<Reference>(), Err(ReferenceError::Version(_))));
        assert!(matches!("1.2.3/plan9/amd64".parse::<Reference>(), Err(ReferenceError::Platform(_))));
        assert!(matches!("".parse::<Reference>(), Err(ReferenceError::Empty)));
    }

    #[test]
    fn orders_versions_numerically() {
        let a: Version = "1.9.10".parse().unwrap();
        let b: Version = "1.10.0".parse().unwrap();
        assert!(a < b);
        assert!("1.36.2".parse::<Version>().unwrap().is_on_line(&"1.36".parse().unwrap()));
    }
}
