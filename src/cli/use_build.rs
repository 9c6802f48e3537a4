//! `gw use <ref>`: install a build and make it the default.

use crate::Result;
use crate::builds::{self, Reference, Version};
use crate::cli::{Terminal, context};
use crate::settings::Settings;
use crate::settings::default_build as default;

/// Install an Envoy build and make it the default for `gw run` and `gw which`.
///
/// Inside a project (a gw.toml here or above) the choice is written to its
/// [envoy] build; elsewhere to $GW_HOME/default. A minor version is pinned to
/// its newest patch.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Envoy build, e.g. 1.36 or standard:1.36.2.
    #[arg(value_name = "REF")]
    reference: Reference,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let reference = args.reference;
    super::require_envoy(&reference, "gw use")?;
    let installed = builds::ensure(&context(settings, terminal), &reference)?;
    // Pin the exact patch; keep the platform only if the user named one.
    let pinned = Reference {
        flavor: installed.build.flavor,
        version: Version { patch: installed.build.version.patch, ..installed.build.version.clone() },
        platform: reference.platform,
        image: None,
    };
    let origin = default::set(&settings.layout, settings.project.as_ref(), &pinned)?;
    terminal.status(format!(
        "default build is now {} (written to {})",
        terminal.bold(&pinned),
        origin.path().display()
    ));
    Ok(0)
}
