//! Loads the kprobe program, attaches it to a kernel function ({{ function }}
//! unless told otherwise) and prints the call count every second until
//! Ctrl-C. The probe is removed when this process exits.

mod loader;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use aya::maps::PerCpuArray;
use aya::programs::KProbe;
use clap::Parser;
use log::{debug, info, warn};
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
    loader::raise_memlock_limit();

    let mut ebpf = loader::load("CAP_BPF with CAP_PERFMON")?;
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
    let stop = loader::shutdown();
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
