//! `gw clean`: remove what builds left behind.

use crate::Result;
use crate::cli::Terminal;
use crate::cli::toolchain::DockerHostArg;
use crate::lab;
use crate::project::Project;
use crate::settings::Settings;
use crate::toolchain::clean::{self, Plan};

/// Remove what builds left: target/gw/ and the project's target volume in Docker; and the
/// network labs of a `gw run` that was killed (eBPF projects).
///
/// Docker builds keep cargo's target directory in a named volume per project
/// checkout (gw-target-<name>-<hash>), which outlives the checkout. --stale
/// removes every such volume whose project directory is gone. Downloaded
/// crates (gw-cargo-home-<uid>) and Envoy builds are kept.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instead of this project: every gw target volume whose project directory no longer holds a gw.toml.
    #[arg(long)]
    stale: bool,

    /// Print what would be removed, and remove nothing.
    #[arg(long)]
    dry_run: bool,

    #[command(flatten)]
    docker: DockerHostArg,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    sweep_labs(args.dry_run, settings, terminal)?;
    let (plan, docker) = if args.stale {
        let docker = args.docker.connect()?;
        (clean::stale(&docker)?, Some(docker))
    } else {
        let project = Project::require(&settings.cwd)?;
        // Without Docker the outputs can still go; the volume waits for a later clean.
        let docker = match args.docker.connect() {
            Ok(docker) => Some(docker),
            Err(e) => {
                terminal.warning(format!("{e}; the project's target volume, if any, is left"));
                None
            }
        };
        (clean::for_project(&project.root, &project.name()?, docker.as_ref())?, docker)
    };
    if plan.is_empty() {
        terminal.status("nothing to clean");
        return Ok(0);
    }
    if !args.dry_run {
        clean::carry_out(&plan, docker.as_ref())?;
    }
    show(&plan, args.dry_run, settings);
    Ok(0)
}

/// Network labs whose gw was killed: their namespaces, cgroup and record.
fn sweep_labs(dry_run: bool, settings: &Settings, terminal: &Terminal) -> Result<()> {
    let labs = settings.layout.labs();
    if dry_run {
        for (_, record) in lab::record::all(&labs)?.into_iter().filter(|(_, r)| !r.alive()) {
            println!("would remove lab {}  (namespaces {})", record.id, record.namespaces.join(" "));
        }
        return Ok(());
    }
    match lab::sweep(&labs) {
        Ok(removed) => {
            for id in removed {
                println!("removed lab {id}  (its gw was gone)");
            }
            Ok(())
        }
        // Labs are root's; a user's clean of their project goes on without them.
        Err(e @ lab::Error::Ip { .. }) => {
            terminal.warning(format!("{e}; labs left by a killed gw are removed by a gw running as root"));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn show(plan: &Plan, dry_run: bool, settings: &Settings) {
    let verb = if dry_run { "would remove" } else { "removed" };
    for (name, project) in &plan.volumes {
        println!("{verb} volume {name}  (builds of {})", project.display());
    }
    if let Some(dir) = &plan.outputs {
        let shown = dir.strip_prefix(&settings.cwd).unwrap_or(dir);
        println!("{verb} {}", shown.display());
    }
}
