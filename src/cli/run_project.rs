//! `gw run` inside a proxy-wasm project: build if stale, then the topology
//! (echo upstreams, service Envoys, the front), each Envoy's output prefixed
//! with its name; `--watch` rebuilds and swaps the filter in on every save.

use std::io::Write;
use std::time::Duration;

use console::Style;

use crate::Result;
use crate::builds::{self, Reference};
use crate::cli::run_lab::{self, Firewall};
use crate::cli::source::SourceArgs;
use crate::cli::toolchain::ToolchainArgs;
use crate::cli::{Terminal, context};
use crate::lab::{self, netns};
use crate::project::Project;
use crate::settings::Settings;
use crate::toolchain::{Cargo, Job, Profile, Role, Toolchain};
use crate::topology::{self, sources, up};

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const COLORS: [fn(Style) -> Style; 5] = [Style::cyan, Style::magenta, Style::yellow, Style::blue, Style::green];

pub struct ProjectRun<'a> {
    pub project: Project,
    pub envoy: Option<Reference>,
    pub watch: bool,
    pub access_log: bool,
    /// aya-log's level for the programs of `[topology.ebpf]`.
    pub bpf_log: log::LevelFilter,
    pub toolchain: &'a ToolchainArgs,
    pub source: &'a SourceArgs,
}

pub fn run(request: ProjectRun<'_>, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let ProjectRun { project, envoy, watch, access_log, bpf_log, toolchain, source } = request;
    let reference = topology::envoy_build(&project, envoy)?;
    // Checked before anything is built or fetched: a bad gw.toml fails fast.
    let spec = topology::load_spec(&project)?;
    let firewall = spec.ebpf.as_ref().map(|ebpf| run_lab::ebpf_project(&project, ebpf)).transpose()?;
    let deny_map = spec.ebpf.as_ref().map(|e| e.deny_map().to_string()).unwrap_or_default();
    let denied =
        spec.ebpf.as_ref().map(|e| e.denied().map_err(topology::Error::Topology)).transpose()?.unwrap_or_default();

    // Made when first needed: a run that builds nothing never talks to Docker.
    let toolchain_args = toolchain;
    let toolchain = std::cell::OnceCell::new();
    let toolchain = || -> Result<&dyn Toolchain> {
        if toolchain.get().is_none() {
            let _ = toolchain.set(toolchain_args.toolchain(&project, terminal)?);
        }
        Ok(toolchain.get().expect("set above").as_ref())
    };
    let job = Job::for_project(&project, Profile::Release, terminal.colors_for_children())?;
    let mut module = topology::project_module(&project)?;
    // Taken before building: an edit made while the build runs still counts as a change.
    let built_from = sources::newest(&project.root);
    if spec.uses_project_module() && sources::is_stale(&module.wasm, built_from) {
        match build(toolchain()?, &job)? {
            Ok(wasm) => module.wasm = wasm,
            Err(code) => return Ok(code),
        }
    }
    let mut ctx = context(settings, terminal);
    source.apply(&mut ctx);
    let installed = builds::ensure(&ctx, &reference)?;

    let output = |name: &str| -> up::Output {
        let index = name.bytes().map(usize::from).sum::<usize>() % COLORS.len();
        let prefix = terminal.paint(COLORS[index](Style::new()).bold(), format!("{name:>10} | "));
        (Box::new(Prefixed::new(prefix.clone(), std::io::stdout())), Box::new(Prefixed::new(prefix, std::io::stderr())))
    };
    let mut rebuild = || match toolchain().and_then(|t| build(t, &job)) {
        Ok(Ok(wasm)) => Ok(wasm),
        Ok(Err(code)) => Err(format!("cargo exited with {code} (its output is above)")),
        Err(e) => Err(e.to_string()),
    };
    // [topology.ebpf]: the topology runs in the lab's gateway, behind the eBPF programs.
    let firewall = match &firewall {
        Some(ebpf) => {
            match Firewall::start((ebpf, (&deny_map, &denied)), (toolchain_args, bpf_log), settings, terminal)? {
                Ok(firewall) => Some(firewall),
                Err(code) => return Ok(code),
            }
        }
        None => None,
    };
    let inside = firewall.as_ref().map(|f| netns::Inside::enter(f.gateway())).transpose()?;
    let request = up::Request {
        envoy: installed.binary,
        spec,
        project: module,
        runs_dir: settings.layout.runs(),
        output: &output,
        rebuild: if watch { Some(&mut rebuild) } else { None },
        built_from,
        ready_timeout: READY_TIMEOUT,
        access_log,
        lab_front: firewall.as_ref().map(|_| lab::GATEWAY_CLIENT_SIDE),
    };
    let finished = up::up(request, terminal);
    drop(inside);
    if let Some(firewall) = firewall {
        firewall.stop(terminal)?;
    }
    Ok(finished?.exit_code())
}

/// Builds the project; `Ok(Err(code))` when cargo failed (its output was shown).
fn build(toolchain: &dyn Toolchain, job: &Job) -> Result<Result<std::path::PathBuf, i32>> {
    match toolchain.build(job, &mut std::io::stderr())? {
        Cargo::Failed(code) => Ok(Err(code)),
        Cargo::Done(artifacts) => Ok(Ok(artifacts
            .into_iter()
            .find(|a| a.role == Role::Wasm)
            .map(|a| a.path)
            .expect("builds check their outputs"))),
    }
}

/// Writes whole lines, each starting with the prefix.
struct Prefixed<W: Write> {
    prefix: String,
    inner: W,
    partial: Vec<u8>,
}

impl<W: Write> Prefixed<W> {
    fn new(prefix: String, inner: W) -> Self {
        Prefixed { prefix, inner, partial: Vec::new() }
    }
}

impl<W: Write> Write for Prefixed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.inner.write_all(self.prefix.as_bytes())?;
            self.inner.write_all(&line)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for Prefixed<W> {
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            let _ = self.inner.write_all(self.prefix.as_bytes());
            let _ = self.inner.write_all(&self.partial);
            let _ = self.inner.write_all(b"\n");
        }
    }
}
