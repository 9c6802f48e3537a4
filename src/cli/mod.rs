//! The command line: clap definitions, one file per command, and the only
//! place that prints. Commands are thin: read flags, build a request, call
//! one domain function, show the result.

// The one layer allowed to print (lib.rs denies it everywhere else).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod build;
mod clean;
mod completions;
mod deploy;
mod deploy_engines;
mod deploy_output;
mod doctor;
mod fetch;
mod init;
mod judge;
mod lab;
mod output;
mod prompt;
mod pull;
mod push;
mod render;
mod run;
mod run_lab;
mod run_project;
mod source;
mod templates;
mod test;
mod toolchain;
mod use_build;
mod validate;
mod versions;
mod which;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::Result;
use crate::builds::Context;
use crate::env_vars;
use crate::settings::{Overrides, Settings};
pub use output::Terminal;

/// gw: pinned Envoy and Cilium builds, fetched, verified and run.
#[derive(Debug, Parser)]
#[command(name = "gw", version, about, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Where builds, caches and runs are kept.
    #[arg(long, global = true, env = env_vars::GW_HOME.name, value_name = "DIR")]
    home: Option<PathBuf>,

    /// Print only errors and warnings (no progress, no status lines).
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Versions(versions::Args),
    Fetch(fetch::Args),
    Which(which::Args),
    Use(use_build::Args),
    Run(run::Args),
    Init(init::Args),
    Templates(templates::Args),
    Build(build::Args),
    Test(test::Args),
    Clean(clean::Args),
    Render(render::Args),
    Validate(validate::Args),
    Push(push::Args),
    Pull(pull::Args),
    Deploy(deploy::Args),
    Lab(lab::Args),
    Doctor(doctor::Args),
    Completions(completions::Args),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    // Like other Unix tools, stop quietly when the reader of our output goes
    // away (`gw versions | head`) instead of panicking on the closed pipe.
    // SAFETY: setting a signal's disposition before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let terminal = Terminal::new(cli.quiet);
    match dispatch(cli, &terminal) {
        Ok(code) => code,
        Err(error) => {
            terminal.error(&error);
            error.exit_code()
        }
    }
}

fn dispatch(cli: Cli, terminal: &Terminal) -> Result<i32> {
    if let Command::Completions(args) = &cli.command {
        return completions::run(args);
    }
    let settings = Settings::resolve(Overrides { home: cli.home })?;
    match cli.command {
        Command::Versions(args) => versions::run(args, &settings, terminal),
        Command::Fetch(args) => fetch::run(args, &settings, terminal),
        Command::Which(args) => which::run(args, &settings),
        Command::Use(args) => use_build::run(args, &settings, terminal),
        Command::Run(args) => run::run(args, &settings, terminal),
        Command::Init(args) => init::run(args, &settings, terminal),
        Command::Templates(args) => templates::run(args),
        Command::Build(args) => build::run(args, &settings, terminal),
        Command::Test(args) => test::run(args, &settings, terminal),
        Command::Clean(args) => clean::run(args, &settings, terminal),
        Command::Render(args) => render::run(args, &settings, terminal),
        Command::Validate(args) => validate::run(args, &settings, terminal),
        Command::Push(args) => push::run(args, &settings, terminal),
        Command::Pull(args) => pull::run(args, &settings, terminal),
        Command::Deploy(args) => deploy::run(args, &settings, terminal),
        Command::Lab(args) => lab::run(args, &settings, terminal),
        Command::Doctor(args) => doctor::run(args, &settings, terminal),
        Command::Completions(_) => unreachable!("handled above"),
    }
}

/// Refuses a build that is not an Envoy for the commands that run or choose one.
fn require_envoy(reference: &crate::builds::Reference, command: &'static str) -> Result<()> {
    if reference.flavor.is_envoy() {
        return Ok(());
    }
    let (reference, flavor) = (reference.to_string(), reference.flavor.to_string());
    Err(crate::error::CliError::NotEnvoy { reference, flavor, command }.into())
}

/// The build context every build command shares.
fn context<'a>(settings: &Settings, terminal: &'a Terminal) -> Context<'a> {
    Context::new(settings.layout.clone(), settings.sources.clone(), settings.platform, settings.lockfile(), terminal)
}
