//! `gw completions <shell>`: shell completion scripts.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::Result;
use crate::cli::Cli;

/// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
///
/// Example: gw completions bash > ~/.local/share/bash-completion/completions/gw
#[derive(Debug, clap::Args)]
pub struct Args {
    shell: Shell,
}

pub fn run(args: &Args) -> Result<i32> {
    clap_complete::generate(args.shell, &mut Cli::command(), "gw", &mut std::io::stdout());
    Ok(0)
}
