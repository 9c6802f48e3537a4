//! `gw run [ref] [-- <envoy args>]`: run an Envoy build, supervised.

use std::ffi::OsString;

use crate::builds::{self, Reference, default};
use crate::cli::{Terminal, context};
use crate::envoy::{self, RunRequest};
use crate::settings::Settings;
use crate::{Error, Result};

/// Run an Envoy build with the given arguments (fetching it first if needed).
///
/// Envoy runs in $GW_HOME/runs/<run-id>/ with its output logged there and shown;
/// --admin-address-path is added unless given; Ctrl-C and SIGTERM are passed on
/// after the admin pages are saved; on exit a debug bundle runs/<run-id>.tar.gz
/// is written. Envoy's exit code becomes gw's.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Envoy build, e.g. 1.36.2 (default: the one `gw use` chose).
    #[arg(value_name = "REF")]
    reference: Option<Reference>,

    /// Arguments for Envoy, after `--`, e.g. `-- -c envoy.yaml`.
    #[arg(last = true, value_name = "ENVOY_ARGS")]
    envoy_args: Vec<OsString>,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let reference = resolve_reference(args.reference, settings)?;
    if !reference.flavor.is_envoy() {
        return Err(Error::NotEnvoy {
            reference: reference.to_string(),
            flavor: reference.flavor.to_string(),
            command: "gw run",
        });
    }
    let installed = builds::ensure(&context(settings, terminal), &reference)?;
    let request = RunRequest {
        binary: installed.binary,
        args: args.envoy_args,
        runs_dir: settings.layout.runs(),
        echo_stdout: Box::new(std::io::stdout()),
        echo_stderr: Box::new(std::io::stderr()),
    };
    let outcome = envoy::run(request, terminal)?;
    Ok(outcome.code)
}

/// The named reference, else the default build (project, then GW_HOME).
pub(super) fn resolve_reference(named: Option<Reference>, settings: &Settings) -> Result<Reference> {
    if let Some(reference) = named {
        return Ok(reference);
    }
    default::get(&settings.layout, settings.project.as_ref())?.map(|(reference, _)| reference).ok_or(Error::NoDefault)
}
