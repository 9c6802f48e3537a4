//! Loads the kprobe program, attaches it to a kernel function ({{ function }}
//! unless told otherwise) and prints the call count every second until
//! Ctrl-C. The probe is removed when this process exits.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use aya::maps::PerCpuArray;
use aya::programs::KProbe;
use aya::{Ebpf, EbpfLoader};
use clap::Parser;
use log::{debug, info, warn};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time;

use {{ crate_name }}_common as common;

use common::{CALLS_MAP, DEFAULT_FUNCTION, KPROBE_PMU, PROGRAM, Rate, Report};

/// Counts calls to a kernel function with a kprobe and prints the total and
/// its increase every second.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Opt {
    /// Kernel function to probe (see /proc/kallsyms)
    #[arg(short, long, default_value = DEFAULT_FUNCTION)]
    function: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let opt = Opt::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    common::check_function(&opt.function)
        .map_err(|e| anyhow!("--function {}: {e}", opt.function))?;
    match std::fs::read_to_string("/proc/kallsyms") {
        Ok(symbols)
            if !symbols
                .lines()
                .any(|line| common::kallsyms_defines(line, &opt.function)) =>
        {
            warn!(
                "{} is not a function in /proc/kallsyms; attaching will probably fail",
                opt.function
            )
        }
        Ok(_) => {}
        Err(error) => debug!("cannot read /proc/kallsyms: {error}"),
    }
    raise_memlock_limit();

    let mut ebpf = load()?;
    let program: &mut KProbe = ebpf
        .program_mut(PROGRAM)
        .with_context(|| format!("the object has no program {PROGRAM}"))?
        .try_into()?;
    program
        .load()
        .context("loading the kprobe program into the kernel")?;
    if let Err(error) = program.attach(&opt.function, 0) {
        let mut context = format!("attaching a kprobe to {}", opt.function);
        if !Path::new(KPROBE_PMU).exists() {
            context.push_str(&format!(
                ": this kernel has no kprobes ({KPROBE_PMU} is missing: it was built without \
                 CONFIG_KPROBES); tracepoints work without them"
            ));
        }
        return Err(anyhow::Error::new(error).context(context));
    }
    info!("attached {PROGRAM} to {}", opt.function);

    let calls: PerCpuArray<_, u64> = PerCpuArray::try_from(
        ebpf.take_map(CALLS_MAP)
            .with_context(|| format!("no map {CALLS_MAP}"))?,
    )?;

    println!(
        "counting calls to {} every second; Ctrl-C to stop",
        opt.function
    );
    let stop = shutdown();
    tokio::pin!(stop);
    let mut tick = time::interval(Duration::from_secs(1));
    tick.tick().await; // the first tick is immediate
    let mut rate = Rate::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let per_cpu: Vec<u64> = calls.get(&0, 0)?.iter().copied().collect();
                let total = common::total(&per_cpu);
                println!("{}", Report { function: &opt.function, total, delta: rate.update(total) });
            }
            result = &mut stop => {
                result?;
                break;
            }
        }
    }
    info!("detaching from {}", opt.function);
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
    fn the_default_function_is_a_symbol_name() {
        let opt = Opt::try_parse_from(["loader"]).unwrap();
        assert_eq!(opt.function, "{{ function }}");
        assert_eq!(common::check_function(&opt.function), Ok(()));
    }
}
