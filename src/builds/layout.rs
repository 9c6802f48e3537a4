//! Where things live under GW_HOME:
//!
//! ```text
//! builds/<flavor>/<version>/<os>-<arch>/bin/<binary>   installed builds
//! builds/.../.gw-build.json                              what was installed, from where, its sha256
//! tmp/<build-key>.<random>/                              installs in progress
//! locks/<build-key>.lock                                 one installer per build
//! cache/envoy-versions-<hash>.json                       the last index fetched from each URL
//! runs/<run-id>/ and runs/<run-id>.tar.gz                `gw run` directories and debug bundles
//! default                                                the build `gw use` chose
//! ```

use std::path::{Path, PathBuf};

use super::reference::Build;
use crate::download::Sha256;

#[derive(Debug, Clone)]
pub struct Layout {
    home: PathBuf,
}

pub const MARKER: &str = ".gw-build.json";

impl Layout {
    pub fn new(home: impl Into<PathBuf>) -> Layout {
        Layout { home: home.into() }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn builds(&self) -> PathBuf {
        self.home.join("builds")
    }

    pub fn build_dir(&self, build: &Build) -> PathBuf {
        self.builds().join(build.flavor.as_str()).join(build.version.to_string()).join(build.platform.dashed())
    }

    pub fn binary(&self, build: &Build) -> PathBuf {
        self.build_dir(build).join("bin").join(build.flavor.binary())
    }

    pub fn marker(&self, build: &Build) -> PathBuf {
        self.build_dir(build).join(MARKER)
    }

    pub fn staging(&self) -> PathBuf {
        self.home.join("tmp")
    }

    pub fn lock(&self, build: &Build) -> PathBuf {
        self.home.join("locks").join(format!("{}.lock", build.key()))
    }

    pub fn index_cache(&self, url: &str) -> PathBuf {
        let digest = Sha256::of_bytes(url.as_bytes());
        self.home.join("cache").join(format!("envoy-versions-{}.json", &digest.as_str()[..12]))
    }

    pub fn runs(&self) -> PathBuf {
        self.home.join("runs")
    }

    /// The records of running network labs (`gw run` in an eBPF project).
    pub fn labs(&self) -> PathBuf {
        self.home.join("labs")
    }

    pub fn default_file(&self) -> PathBuf {
        self.home.join("default")
    }
}
