//! `gw run [ref] [-- <envoy args>]`: run an Envoy build, supervised; inside a
//! proxy-wasm project with neither, run the project's topology.

use std::ffi::OsString;

use crate::builds::{self, Reference};
use crate::cli::run_lab;
use crate::cli::run_project::{self, ProjectRun};
use crate::cli::source::SourceArgs;
use crate::cli::toolchain::ToolchainArgs;
use crate::cli::{Terminal, context};
use crate::envoy::{self, Launch, RunRequest};
use crate::project::Kind;
use crate::settings::Settings;
use crate::settings::default_build as default;
use crate::{Error, Result};

/// Run an Envoy build with the given arguments, or the project's topology.
///
/// Inside a proxy-wasm project, `gw run` alone builds the filter if a source changed, renders the
/// topology from gw.toml (front Envoy with the filter, service Envoys, echo upstreams), checks
/// every config against Envoy's API schema, starts the services then the front, and prints the
/// URLs to try. Ctrl-C stops them in reverse order. --watch rebuilds on every save and swaps the
/// new filter into the running Envoys.
///
/// With a REF or Envoy arguments it runs that Envoy build (fetching it first if needed).
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

    /// In a project: the Envoy build the topology runs on (default: gw.toml's [envoy] build).
    #[arg(long, value_name = "REF", conflicts_with = "reference")]
    envoy: Option<Reference>,

    /// In a project: rebuild on every source change and swap the filter into the running Envoys.
    #[arg(long)]
    watch: bool,

    /// In a project: show each request the Envoys log (method, path, status, Envoy's reason,
    /// time, upstream) as it happens; the full JSON lines are in runs/<id>/<envoy>/access.log.
    #[arg(long)]
    access_log: bool,

    #[command(flatten)]
    lab: run_lab::LabArgs,

    #[command(flatten)]
    toolchain: ToolchainArgs,

    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    // With neither a REF nor Envoy arguments, a proxy-wasm project runs its topology; a gw.toml
    // that cannot be read is an error then, not a reason to run something else.
    let topology = args.reference.is_none() && args.envoy_args.is_empty();
    let in_project = match &settings.project {
        Some(project) if topology && project.kind()? == Kind::ProxyWasm => Some(project),
        Some(project) if topology && project.kind()? == Kind::Ebpf => {
            if args.watch || args.envoy.is_some() || args.access_log {
                return Err(Error::Cli(crate::error::CliError::ProxyWasmOnly {
                    flags: "--watch, --envoy and --access-log",
                }));
            }
            return run_lab::run(project, &args.toolchain, &args.lab, settings, terminal);
        }
        _ => None,
    };
    if args.lab.ebpf_only() {
        return Err(Error::Cli(crate::error::CliError::EbpfOnly { flags: "--iface, --ping, --curl and --udp" }));
    }
    if let Some(project) = in_project {
        let request = ProjectRun {
            project: project.clone(),
            envoy: args.envoy,
            watch: args.watch,
            access_log: args.access_log,
            bpf_log: args.lab.bpf_log(),
            toolchain: &args.toolchain,
            source: &args.source,
        };
        return run_project::run(request, settings, terminal);
    }
    if args.watch || args.envoy.is_some() || args.access_log {
        return Err(Error::Cli(crate::error::CliError::ProjectOnly { flags: "--watch, --envoy and --access-log" }));
    }
    let reference = resolve_reference(args.reference, settings)?;
    super::require_envoy(&reference, "gw run")?;
    let mut ctx = context(settings, terminal);
    args.source.apply(&mut ctx);
    let installed = builds::ensure(&ctx, &reference)?;
    let launch = Launch {
        binary: installed.binary,
        args: args.envoy_args,
        echo_stdout: Box::new(std::io::stdout()),
        echo_stderr: Box::new(std::io::stderr()),
    };
    let request = RunRequest { launch, runs_dir: settings.layout.runs() };
    let outcome = envoy::run(request, terminal)?;
    Ok(outcome.code)
}

/// The named reference, else the default build (project, then GW_HOME).
pub(super) fn resolve_reference(named: Option<Reference>, settings: &Settings) -> Result<Reference> {
    if let Some(reference) = named {
        return Ok(reference);
    }
    default::get(&settings.layout, settings.project.as_ref())?
        .map(|(reference, _)| reference)
        .ok_or(Error::Cli(crate::error::CliError::NoDefault))
}
