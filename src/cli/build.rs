//! `gw build`: build the project (a .wasm filter, or an eBPF object and its loader).

use crate::Result;
use crate::cli::Terminal;
use crate::cli::toolchain::ToolchainArgs;
use crate::project::Project;
use crate::settings::Settings;
use crate::toolchain::{Cargo, Job, Profile};

/// Build the project in Docker (gw's builder image) or with the local toolchain.
///
/// Outputs are found through cargo's own messages and copied to target/gw/;
/// each is printed with its size and sha256. cargo's exit code passes through.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the debug profile instead of release.
    #[arg(long)]
    debug: bool,

    #[command(flatten)]
    toolchain: ToolchainArgs,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let project = Project::require(&settings.cwd)?;
    let profile = if args.debug { Profile::Debug } else { Profile::Release };
    let job = Job::for_project(&project, profile, terminal.colors_for_children())?;
    let toolchain = args.toolchain.toolchain(&project, terminal)?;
    match toolchain.build(&job, &mut std::io::stderr())? {
        Cargo::Failed(code) => Ok(code),
        Cargo::Done(artifacts) => {
            for artifact in artifacts {
                let shown = artifact.path.strip_prefix(&settings.cwd).unwrap_or(&artifact.path);
                println!(
                    "{}  {} bytes  sha256:{}  ({})",
                    shown.display(),
                    artifact.size,
                    artifact.sha256,
                    artifact.role.as_str()
                );
            }
            Ok(0)
        }
    }
}
