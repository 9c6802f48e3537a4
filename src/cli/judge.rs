//! The Envoy build that judges (`gw validate`, `gw test --envoy`): the one named, fetched if
//! needed, else the default build when it is installed.

use std::path::PathBuf;

use crate::Result;
use crate::builds::{self, Reference};
use crate::cli::Terminal;
use crate::cli::source::SourceArgs;
use crate::settings::{Settings, default_build};

pub struct EnvoyBuild {
    /// `1.40.0`
    pub version: String,
    pub binary: PathBuf,
}

/// The named build (installed if needed), else the installed default build, else None.
pub fn envoy_build(
    reference: Option<&Reference>,
    source: &SourceArgs,
    command: &'static str,
    settings: &Settings,
    terminal: &Terminal,
) -> Result<Option<EnvoyBuild>> {
    let platform = settings.platform.ok_or(builds::Error::NoHostPlatform)?;
    if let Some(reference) = reference {
        super::require_envoy(reference, command)?;
        let mut ctx = super::context(settings, terminal);
        source.apply(&mut ctx);
        let installed = builds::ensure(&ctx, reference)?;
        return Ok(Some(EnvoyBuild { version: installed.build.version.to_string(), binary: installed.binary }));
    }
    let default = default_build::get(&settings.layout, settings.project.as_ref())?;
    let found = match default.as_ref().filter(|(reference, _)| reference.flavor.is_envoy()) {
        Some((reference, _)) => builds::find_installed(&settings.layout, reference, platform)?,
        None => None,
    };
    Ok(found.map(|found| EnvoyBuild { version: found.build.version.to_string(), binary: found.binary }))
}
