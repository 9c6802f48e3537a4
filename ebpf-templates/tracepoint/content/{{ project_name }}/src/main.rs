//! Loads the tracepoint program, attaches it (to syscalls/sys_enter_execve
//! unless told otherwise) and prints the exec count every second until
//! Ctrl-C. The program is detached when this process exits.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use aya::maps::PerCpuArray;
use aya::programs::TracePoint;
use aya::{Ebpf, EbpfLoader};
use clap::Parser;
use log::{debug, info, warn};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{SignalKind, signal};
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
    raise_memlock_limit();

    let mut ebpf = load()?;
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
    let stop = shutdown();
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

/// The object aya-build compiled (see build.rs), with kernel-side logging at
/// the level RUST_LOG asks for, so that disabled log statements cost nothing.
fn load() -> anyhow::Result<Ebpf> {
    let level = log::max_level() as u8;
    let mut ebpf = EbpfLoader::new()
        .override_global(aya_log::LEVEL, &level, false)
        // The eBPF crate's binary, named like this package (its [[bin]] in
        // {{ project_name }}-ebpf/Cargo.toml), in OUT_DIR where build.rs left it.
        .load(aya::include_bytes_aligned!(concat!(
            env!("OUT_DIR"),
            "/",
            env!("CARGO_PKG_NAME")
        )))
        .context("loading the eBPF object (this needs root, or CAP_BPF with CAP_PERFMON)")?;
    match aya_log::EbpfLogger::init(&mut ebpf) {
        Ok(logger) => {
            // SAFETY: the logger owns its ring buffer's descriptor, which stays open and the
            // same for as long as the AsyncFd, which owns the logger, lives.
            let mut logger =
                unsafe { AsyncFd::register_with_interest(logger, tokio::io::Interest::READABLE) }
                    .map_err(|error| error.into_parts().1)?;
            tokio::task::spawn(async move {
                while let Ok(mut guard) = logger.readable_mut().await {
                    guard.get_inner_mut().flush();
                    guard.clear_ready();
                }
            });
        }
        // The program has no log statements (or the linker dropped them).
        Err(aya_log::Error::MapNotFound) => debug!("no kernel-side logs: the program does not log"),
        Err(error) => warn!("no kernel-side logs: {error}"),
    }
    Ok(ebpf)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown() -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// Older kernels charge BPF maps to RLIMIT_MEMLOCK; newer ones (5.11+) use
/// memory cgroups and ignore it.
fn raise_memlock_limit() {
    let limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit) } != 0 {
        debug!(
            "could not raise RLIMIT_MEMLOCK: {}",
            std::io::Error::last_os_error()
        );
    }
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
