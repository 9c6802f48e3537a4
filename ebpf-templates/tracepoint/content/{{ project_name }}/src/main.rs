//! Loads the tracepoint program, attaches it (to syscalls/sys_enter_execve
//! unless told otherwise) and prints the exec count every second until
//! Ctrl-C. The program is detached when this process exits.

mod loader;

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use aya::maps::PerCpuArray;
use aya::programs::TracePoint;
use clap::Parser;
use log::info;
use tokio::time;

use {{ crate_name }}_common as common;

use common::{DEFAULT_TRACEPOINT, EXECS_MAP, PROGRAM, Rate, Report, Tracepoint};

/// Counts exec calls with a tracepoint program and prints the total, its
/// increase and the count on each CPU every second.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Opt {
    /// Tracepoint to attach to, as category/name (see /sys/kernel/tracing/events)
    #[arg(short, long, default_value = DEFAULT_TRACEPOINT)]
    tracepoint: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let opt = Opt::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let tracepoint = Tracepoint::parse(&opt.tracepoint)
        .map_err(|e| anyhow!("--tracepoint {}: {e}", opt.tracepoint))?;
    loader::raise_memlock_limit();

    let mut ebpf = loader::load("CAP_BPF with CAP_PERFMON")?;
    let program: &mut TracePoint = ebpf
        .program_mut(PROGRAM)
        .with_context(|| format!("the object has no program {PROGRAM}"))?
        .try_into()?;
    program
        .load()
        .context("loading the tracepoint program into the kernel")?;
    program.attach(tracepoint.category, tracepoint.name).with_context(|| {
        format!(
            "attaching to {}; tracepoints need tracefs (mount -t tracefs tracefs /sys/kernel/tracing) \
             and a kernel with this event (ls /sys/kernel/tracing/events/{})",
            opt.tracepoint, tracepoint.category
        )
    })?;
    info!("attached {PROGRAM} to {}", opt.tracepoint);

    let execs: PerCpuArray<_, u64> = PerCpuArray::try_from(
        ebpf.take_map(EXECS_MAP)
            .with_context(|| format!("no map {EXECS_MAP}"))?,
    )?;

    println!("counting {} every second; Ctrl-C to stop", opt.tracepoint);
    let stop = loader::shutdown();
    tokio::pin!(stop);
    let mut tick = time::interval(Duration::from_secs(1));
    tick.tick().await; // the first tick is immediate
    let mut rate = Rate::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let per_cpu: Vec<u64> = execs.get(&0, 0)?.iter().copied().collect();
                let total = common::total(&per_cpu);
                println!("{}", Report { total, delta: rate.update(total), per_cpu: &per_cpu });
            }
            result = &mut stop => {
                result?;
                break;
            }
        }
    }
    info!("detaching from {}", opt.tracepoint);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Opt::command().debug_assert();
    }

    #[test]
    fn the_default_tracepoint_is_well_formed() {
        let opt = Opt::try_parse_from(["loader"]).unwrap();
        let tracepoint = Tracepoint::parse(&opt.tracepoint).unwrap();
        assert_eq!(
            format!("{}/{}", tracepoint.category, tracepoint.name),
            "{{ tracepoint }}"
        );
    }
}
