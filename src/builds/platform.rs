//! Platforms builds are published for: `os/arch`, Go-style names as in func-e's index.

use std::fmt;
use std::str::FromStr;

use super::ReferenceError;

/// An operating system builds exist for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Os {
    Linux,
    Darwin,
}

/// A CPU architecture builds exist for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    Amd64,
    Arm64,
}

/// `os/arch`, e.g. `linux/amd64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    pub os: Os,
    pub arch: Arch,
}

pub const SUPPORTED: &str = "linux/amd64, linux/arm64, darwin/amd64, darwin/arm64";

impl Os {
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Darwin => "darwin",
        }
    }
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::Amd64),
            "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }
}

impl Platform {
    /// The machine gw runs on, if builds exist for it.
    pub fn host() -> Option<Platform> {
        let os = match std::env::consts::OS {
            "linux" => Os::Linux,
            "macos" => Os::Darwin,
            _ => return None,
        };
        Some(Platform { os, arch: Arch::host()? })
    }

    /// `linux-amd64`: the form used in cache directories and archive names.
    pub fn dashed(self) -> String {
        format!("{}-{}", self.os.as_str(), self.arch.as_str())
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os.as_str(), self.arch.as_str())
    }
}

impl FromStr for Platform {
    type Err = ReferenceError;

    /// Accepts `os/arch` and GetEnvoy's aliases `linux-glibc` and `darwin`,
    /// which name an OS and mean the host's architecture.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ReferenceError::Platform(s.to_string());
        let os_of = |name: &str| match name {
            "linux" => Some(Os::Linux),
            "darwin" | "macos" => Some(Os::Darwin),
            _ => None,
        };
        match s {
            "linux-glibc" | "darwin" => {
                let os = if s == "darwin" { Os::Darwin } else { Os::Linux };
                let arch = Arch::host().ok_or_else(bad)?;
                return Ok(Platform { os, arch });
            }
            _ => {}
        }
        let (os, arch) = s.split_once('/').ok_or_else(bad)?;
        let os = os_of(os).ok_or_else(bad)?;
        let arch = match arch {
            "amd64" | "x86_64" => Arch::Amd64,
            "arm64" | "aarch64" => Arch::Arm64,
            _ => return Err(bad()),
        };
        Ok(Platform { os, arch })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_aliases() {
        assert_eq!("linux/arm64".parse::<Platform>().unwrap().to_string(), "linux/arm64");
        assert_eq!("darwin/x86_64".parse::<Platform>().unwrap().to_string(), "darwin/amd64");
        assert_eq!("linux-glibc".parse::<Platform>().unwrap().os, Os::Linux);
        assert_eq!("darwin".parse::<Platform>().unwrap().os, Os::Darwin);
        assert!("windows/amd64".parse::<Platform>().is_err());
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux/riscv64".parse::<Platform>().is_err());
    }
}
