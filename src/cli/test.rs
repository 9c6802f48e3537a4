//! `gw test`: the project's tests in the same toolchain as `gw build`, then,
//! for proxy-wasm filters, every scenario against the built module in gw's
//! proxy-wasm host, and with `--envoy` through a real Envoy too, the two compared.
//! `--wasm` runs scenarios against any prebuilt module.

use std::path::{Path, PathBuf};

use crate::Result;
use crate::bpftest;
use crate::builds::Reference;
use crate::cli::Terminal;
use crate::cli::judge::{EnvoyBuild, envoy_build};
use crate::cli::source::SourceArgs;
use crate::cli::toolchain::ToolchainArgs;
use crate::envoytest::{self, Judge};
use crate::project::{Kind, Project};
use crate::settings::Settings;
use crate::toolchain::{Cargo, Job, PrivilegedGw, Profile, Role, Toolchain};
use crate::wasmhost::{self, FileReport, Host, Verdict};

/// Run the project's tests: `cargo test`, then (proxy-wasm) its scenarios in gw's wasm host, or
/// (eBPF, as root) its programs through the kernel's verifier and its packet scenarios.
///
/// Scenarios are the YAML files in scenarios/ (or those given with --scenario),
/// run against the module or object `gw build` makes; see docs/testing.md. Exit code:
/// cargo's when cargo test fails, 1 when a scenario case fails, else 0.
/// With --wasm no project and no Docker are needed. With --envoy each scenario file
/// also runs through that Envoy build (see docs/testing.md); a case passes when it
/// passes in both, and cases Envoy cannot run faithfully are skipped with their reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KernelPlace {
    Auto,
    Native,
    Docker,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files to run instead of scenarios/*.yaml; repeatable.
    #[arg(long, value_name = "FILE")]
    scenario: Vec<PathBuf>,

    /// Run the scenarios against this module instead of building the project.
    #[arg(long, value_name = "FILE.wasm", requires = "scenario")]
    wasm: Option<PathBuf>,

    /// Load this eBPF object's programs through the verifier and run the scenarios (if any)
    /// through them, instead of building the project (as root; see docs/testing.md).
    #[arg(long, value_name = "FILE.bpf.o", conflicts_with_all = ["wasm", "envoy"])]
    object: Option<PathBuf>,

    /// Where an eBPF project's programs meet the kernel: `native` (gw itself, as root),
    /// `docker` (gw in the builder image, with the capabilities BPF needs, for a caller that
    /// is not root), or `auto`: native as root, else docker with the Docker toolchain.
    #[arg(long, value_enum, default_value_t = KernelPlace::Auto, value_name = "WHERE")]
    kernel: KernelPlace,

    /// Also write the scenario results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Also run the scenarios through this Envoy build (fetched if needed), e.g. 1.40;
    /// without a value, the default build (`gw use`).
    #[arg(long, value_name = "REF", num_args = 0..=1)]
    #[allow(clippy::option_option)] // absent, `--envoy`, `--envoy 1.40`: three meanings
    envoy: Option<Option<Reference>>,

    #[command(flatten)]
    source: SourceArgs,

    #[command(flatten)]
    toolchain: ToolchainArgs,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let scenarios: Vec<PathBuf> = args.scenario.iter().map(|s| settings.cwd.join(s)).collect();
    // Settled first: a build that cannot be had stops before any work.
    let judge = match &args.envoy {
        None => None,
        Some(reference) => match envoy_build(reference.as_ref(), &args.source, "gw test", settings, terminal)? {
            Some(EnvoyBuild { version, binary }) => Some(Judge { binary, version }),
            None => return Err(crate::error::CliError::NoEnvoyBuild { command: "gw test" }.into()),
        },
    };
    let run = Run { junit: args.junit.as_deref(), judge: judge.as_ref(), settings, terminal };
    if let Some(wasm) = &args.wasm {
        return run.scenarios(&settings.cwd.join(wasm), &scenarios);
    }
    if let Some(object) = &args.object {
        return run.in_the_kernel(&[settings.cwd.join(object)], &scenarios);
    }
    let project = Project::require(&settings.cwd)?;
    let toolchain = args.toolchain.toolchain(&project, terminal)?;
    let job = Job::for_project(&project, Profile::Debug, terminal.colors_for_children())?;
    if let Cargo::Failed(code) = toolchain.test(&job, &mut std::io::stderr())? {
        return Ok(code);
    }
    let scenarios = if scenarios.is_empty() { wasmhost::scenario::project_files(&project.root) } else { scenarios };
    if job.kind == Kind::Ebpf {
        let build = Job { profile: Profile::Release, ..job };
        let artifacts = match toolchain.build(&build, &mut std::io::stderr())? {
            Cargo::Failed(code) => return Ok(code),
            Cargo::Done(artifacts) => artifacts,
        };
        let objects: Vec<PathBuf> =
            artifacts.into_iter().filter(|a| a.role == Role::BpfObject).map(|a| a.path).collect();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        if args.kernel == KernelPlace::Docker || (args.kernel == KernelPlace::Auto && !root) {
            let (object, rest) = objects.split_first().expect("builds check their outputs");
            if !rest.is_empty() {
                let shown = object.display();
                terminal.warning(format!("the project builds several eBPF objects; {shown} is the one tested"));
            }
            if let Some(code) = run.in_container(toolchain.as_ref(), &project.root, object, &scenarios)? {
                return Ok(code);
            }
            if args.kernel == KernelPlace::Docker {
                return Err(crate::error::CliError::KernelInDocker.into());
            }
        }
        return run.in_the_kernel(&objects, &scenarios);
    }
    if scenarios.is_empty() {
        terminal.status("no scenarios (scenarios/*.yaml): nothing to run in the wasm host");
        return Ok(0);
    }
    let build = Job { profile: Profile::Release, ..job };
    let artifacts = match toolchain.build(&build, &mut std::io::stderr())? {
        Cargo::Failed(code) => return Ok(code),
        Cargo::Done(artifacts) => artifacts,
    };
    let wasm =
        artifacts.into_iter().find(|a| a.role == Role::Wasm).map(|a| a.path).expect("builds check their outputs");
    run.scenarios(&wasm, &scenarios)
}

/// The eBPF side: each object's programs through the verifier, then the packet scenarios
/// against the first object (templates build one).
impl Run<'_> {
    fn in_the_kernel(&self, objects: &[PathBuf], files: &[PathBuf]) -> Result<i32> {
        let mut reports = Vec::new();
        for object in objects {
            match bpftest::verify(object) {
                Ok(report) => reports.push(report),
                Err(error) => {
                    self.terminal.warning(format!("{error}; the verifier pass and the packet scenarios were not run"));
                    return Ok(0);
                }
            }
        }
        let rejected = reports.iter().any(|r| r.failed() > 0);
        match objects.first() {
            // Every case would fail the same way: the refusal is shown once, above.
            Some(_) if rejected && !files.is_empty() => {
                self.terminal.status("the packet scenarios were not run: the verifier rejected a program")
            }
            Some(object) => reports.extend(files.iter().map(|file| bpftest::run_file(object, file))),
            None => {}
        }
        for report in &reports {
            show(report, self.settings, self.terminal);
        }
        self.summary(&reports, None)
    }

    /// The kernel steps by gw in the builder image, for a caller that is not root: `None`
    /// when the toolchain has no container to run them in.
    fn in_container(
        &self,
        toolchain: &dyn Toolchain,
        root: &Path,
        object: &Path,
        files: &[PathBuf],
    ) -> Result<Option<i32>> {
        let out = tempfile::Builder::new().prefix("gw-kernel-").tempdir()?;
        let mut args = vec!["test".to_string(), "--kernel".into(), "native".into(), "--object".into()];
        args.push(object.display().to_string());
        for file in files {
            args.extend(["--scenario".to_string(), file.display().to_string()]);
        }
        let junit = out.path().join("junit.xml");
        if self.junit.is_some() {
            args.extend(["--junit".to_string(), junit.display().to_string()]);
        }
        // The project, and what the command line named outside it, at their own paths.
        let mut reads = vec![root.to_path_buf()];
        reads.extend(
            std::iter::once(object)
                .chain(files.iter().map(PathBuf::as_path))
                .filter(|p| !p.starts_with(root))
                .map(Path::to_path_buf),
        );
        let request = PrivilegedGw {
            gw: std::env::current_exe()?,
            args,
            cwd: self.settings.cwd.clone(),
            reads,
            writes: Some(out.path().to_path_buf()),
        };
        self.terminal.status("loading the programs in the builder image (with CAP_SYS_ADMIN, CAP_NET_ADMIN)");
        let Some(code) = toolchain.privileged_gw(&request, &mut std::io::stdout(), &mut std::io::stderr())? else {
            return Ok(None);
        };
        if let Some(path) = self.junit
            && junit.is_file()
        {
            fs_err::write(self.settings.cwd.join(path), fs_err::read(&junit)?)?;
        }
        Ok(Some(code))
    }

    /// The totals on stdout, the JUnit file when asked; 1 when a case failed.
    fn summary(&self, reports: &[FileReport], envoy: Option<&str>) -> Result<i32> {
        let passed: usize = reports.iter().map(FileReport::passed).sum();
        let failed: usize = reports.iter().map(FileReport::failed).sum();
        let skipped: usize = reports.iter().map(FileReport::skipped).sum();
        if let Some(path) = self.junit {
            let path = self.settings.cwd.join(path);
            fs_err::write(&path, wasmhost::junit(reports))?;
        }
        match envoy {
            Some(version) => {
                println!("{passed} passed, {failed} failed, {skipped} skipped (gw's host and Envoy {version})")
            }
            None if skipped > 0 => println!("{passed} passed, {failed} failed, {skipped} skipped"),
            None => println!("{passed} passed, {failed} failed"),
        }
        Ok(if failed == 0 { 0 } else { 1 })
    }
}

struct Run<'a> {
    junit: Option<&'a Path>,
    judge: Option<&'a Judge>,
    settings: &'a Settings,
    terminal: &'a Terminal,
}

impl Run<'_> {
    fn scenarios(&self, wasm: &Path, files: &[PathBuf]) -> Result<i32> {
        let host = Host::new(self.settings.layout.home().join("cache").join("wasm"))?;
        let module = host.load(wasm)?;
        if let Some(warning) = &module.cache_warning {
            self.terminal.warning(warning);
        }
        let origin = if module.from_cache { "from the cache" } else { "compiled" };
        self.terminal.status(format!("{} loaded ({origin}, {:.0?})", wasm.display(), module.load_time));
        if let Some(judge) = self.judge {
            self.terminal.status(format!("each file runs in gw's host, then through Envoy {}", judge.version));
        }
        let mut reports = Vec::new();
        for file in files {
            let mut report =
                host.run_scenario_file(&module, file).unwrap_or_else(|e| FileReport::from_error(file.clone(), &e));
            if let Some(judge) = self.judge {
                let through_envoy = envoytest::run_file(judge, wasm, file);
                report = envoytest::agree(&report, &through_envoy, &judge.version);
            }
            show(&report, self.settings, self.terminal);
            reports.push(report);
        }
        self.summary(&reports, self.judge.map(|j| j.version.as_str()))
    }
}

fn show(report: &FileReport, settings: &Settings, terminal: &Terminal) {
    let file = report.file.strip_prefix(&settings.cwd).unwrap_or(&report.file);
    println!("{}", terminal.bold(file.display()));
    for case in &report.cases {
        match &case.outcome {
            Verdict::Passed => println!("  ok    {} ({:.1?})", case.name, case.duration),
            Verdict::Skipped(reason) => println!("  skip  {}: {reason}", case.name),
            Verdict::Failed(differences) => {
                println!("  FAIL  {}", case.name);
                for line in differences {
                    for (i, part) in line.lines().enumerate() {
                        println!("{}{part}", if i == 0 { "        - " } else { "          " });
                    }
                }
            }
        }
    }
    // What a verdict did not cover, once per file rather than under every case.
    let mut notes: Vec<&String> = report.cases.iter().flat_map(|c| &c.notes).collect();
    notes.sort();
    notes.dedup();
    for note in notes {
        println!("  {}", terminal.paint(console::Style::new().dim(), format!("({note})")));
    }
}
