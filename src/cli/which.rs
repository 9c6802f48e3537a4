//! `gw which [ref]`: the path of an installed build's binary.

use crate::builds::{self, Reference};
use crate::cli::run::resolve_reference;
use crate::settings::Settings;
use crate::{Error, Result};

/// Print the path of an installed build's binary (the default build if none is named).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build, e.g. 1.36.2 or cilium-cli:0.18.3; a minor version picks the newest installed patch.
    #[arg(value_name = "REF")]
    reference: Option<Reference>,
}

pub fn run(args: Args, settings: &Settings) -> Result<i32> {
    let reference = resolve_reference(args.reference, settings)?;
    let platform = reference.platform.or(settings.platform).ok_or(builds::Error::NoHostPlatform)?;
    match builds::find_installed(&settings.layout, &reference, platform)? {
        Some(found) => {
            println!("{}", found.binary.display());
            Ok(0)
        }
        None => {
            let build = Reference { platform: Some(platform), ..reference };
            Err(Error::Builds(builds::Error::NotInstalled { build: build.to_string() }))
        }
    }
}
