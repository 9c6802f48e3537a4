//! `gw test`: the project's tests, in the same toolchain as `gw build`.

use crate::Result;
use crate::cli::Terminal;
use crate::cli::toolchain::ToolchainArgs;
use crate::project::Project;
use crate::settings::Settings;
use crate::toolchain::{Job, Outcome, Profile};

/// Run the project's tests (`cargo test` on the host target) in Docker or locally.
///
/// The exit code is cargo's: 0 when every test passed.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    toolchain: ToolchainArgs,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let project = Project::require(&settings.cwd)?;
    let job = Job::for_project(&project, Profile::Debug, terminal.colors_for_children())?;
    let toolchain = args.toolchain.toolchain(&project, terminal)?;
    match toolchain.test(&job, &mut std::io::stderr())? {
        Outcome::CargoFailed(code) => Ok(code),
        Outcome::Done(()) => Ok(0),
    }
}
