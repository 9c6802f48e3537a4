//! `gw fetch <ref>...`: download, verify and install builds.

use crate::Result;
use crate::builds::{self, Reference};
use crate::cli::{Terminal, context};
use crate::settings::Settings;

/// Download, verify and install builds (Envoy, cilium-cli, hubble).
///
/// A reference is [flavor:]version[/platform]: 1.36.2, 1.36 (its newest patch),
/// standard:1.36.2/linux/arm64, cilium-cli:0.18.3, hubble:1.18.0.
/// Inside a project each build is pinned in gw.lock; a later download with
/// other bytes is refused.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Builds to install.
    #[arg(required = true, value_name = "REF")]
    references: Vec<Reference>,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let ctx = context(settings, terminal);
    for reference in &args.references {
        builds::ensure(&ctx, reference)?;
    }
    Ok(0)
}
