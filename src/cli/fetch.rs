//! `gw fetch <ref>...`: download, verify and install builds.

use crate::Result;
use crate::builds::{self, Flavor, ImagePin, Reference};
use crate::cli::source::SourceArgs;
use crate::cli::{Terminal, context};
use crate::settings::Settings;

/// Download, verify and install builds (Envoy, cilium-envoy, cilium-cli, hubble).
///
/// A reference is [flavor:]version[@sha256:digest][/platform]: 1.36.2, 1.36 (its newest patch),
/// standard:1.36.2/linux/arm64, standard:1.15.0 (read out of its container image),
/// cilium:1.31.5 or a full cilium-envoy tag, cilium-cli:0.18.3, hubble:1.18.0.
/// Inside a project each build is pinned in gw.lock; a later download with
/// other bytes is refused.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Builds to install.
    #[arg(required = true, value_name = "REF")]
    references: Vec<Reference>,
    /// Read standard Envoy builds out of docker.io/envoyproxy/envoy:v<version> even when the
    /// index has a tarball (versions the index lacks always come from the image).
    #[arg(long)]
    from_image: bool,

    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let mut ctx = context(settings, terminal);
    args.source.apply(&mut ctx);
    for reference in &args.references {
        let mut reference = reference.clone();
        if args.from_image && reference.flavor == Flavor::Standard {
            reference.image.get_or_insert_with(ImagePin::default);
        }
        builds::ensure(&ctx, &reference)?;
    }
    Ok(0)
}
