//! Loads the TC classifier, attaches it to an interface's ingress or egress,
//! marks `--port` in DROP_PORT and prints the verdict counters every second
//! until Ctrl-C. The classifier is detached when this process exits.

mod loader;

use std::time::Duration;

use anyhow::Context as _;
use aya::maps::{HashMap, PerCpuArray};
use aya::programs::tc::{self, TcError};
use aya::programs::{SchedClassifier, TcAttachType};
use clap::{Parser, ValueEnum};
use log::{debug, info};
use tokio::time;

use {{ crate_name }}_common as common;

use common::{Counts, DROP_PORT_MAP, PROGRAM, VERDICTS_MAP, Verdict};

/// Drops TCP and UDP packets from or to the given ports in a TC classifier and
/// counts what passed and what was dropped.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Opt {
    /// Interface to attach to
    #[arg(short, long, default_value = "{{ iface }}")]
    iface: String,

    /// Which traffic to classify: received (ingress) or sent (egress)
    #[arg(short, long, value_enum, default_value = "{{ direction }}")]
    direction: Direction,

    /// Drop TCP and UDP packets from or to this port; repeatable
    #[arg(short, long = "port", value_name = "PORT", default_value = "{{ port }}",
          value_parser = clap::value_parser!(u16).range(1..))]
    ports: Vec<u16>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Direction {
    Ingress,
    Egress,
}

impl From<Direction> for TcAttachType {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Ingress => TcAttachType::Ingress,
            Direction::Egress => TcAttachType::Egress,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let opt = Opt::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    loader::raise_memlock_limit();

    let mut ebpf = loader::load("CAP_BPF with CAP_NET_ADMIN")?;
    // Kernels before 6.6 attach classifiers to the clsact qdisc; newer ones use
    // TCX links (aya picks) and need no qdisc, but adding it does no harm.
    match tc::qdisc_add_clsact(&opt.iface) {
        Ok(()) => debug!("added the clsact qdisc to {}", opt.iface),
        Err(TcError::NetlinkError(error)) if error.raw_os_error() == Some(libc::EEXIST) => {}
        Err(TcError::AlreadyAttached) => {}
        Err(error) => {
            return Err(error).with_context(|| format!("adding the clsact qdisc to {}", opt.iface));
        }
    }
    let program: &mut SchedClassifier = ebpf
        .program_mut(PROGRAM)
        .with_context(|| format!("the object has no program {PROGRAM}"))?
        .try_into()?;
    program
        .load()
        .context("loading the classifier into the kernel")?;
    program
        .attach(&opt.iface, opt.direction.into())
        .with_context(|| format!("attaching to {} {:?}", opt.iface, opt.direction))?;
    info!("attached {PROGRAM} to {} ({:?})", opt.iface, opt.direction);

    let mut drop_port: HashMap<_, u16, u8> = HashMap::try_from(
        ebpf.take_map(DROP_PORT_MAP)
            .with_context(|| format!("no map {DROP_PORT_MAP}"))?,
    )?;
    for port in &opt.ports {
        drop_port
            .insert(port, 1u8, 0)
            .with_context(|| format!("adding port {port}"))?;
        info!("dropping TCP and UDP from or to port {port}");
    }
    let verdicts: PerCpuArray<_, u64> = PerCpuArray::try_from(
        ebpf.take_map(VERDICTS_MAP)
            .with_context(|| format!("no map {VERDICTS_MAP}"))?,
    )?;

    println!(
        "counting packets on {} every second; Ctrl-C to stop",
        opt.iface
    );
    let stop = loader::shutdown();
    tokio::pin!(stop);
    let mut tick = time::interval(Duration::from_secs(1));
    tick.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let mut counts = Counts::default();
                for verdict in Verdict::ALL {
                    let per_cpu = verdicts.get(&verdict.index(), 0)?;
                    counts.set(verdict, common::total(per_cpu.iter().copied()));
                }
                println!("{counts}");
            }
            result = &mut stop => {
                result?;
                break;
            }
        }
    }
    info!("detaching from {}", opt.iface);
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
    fn defaults_parse_and_ports_replace_the_default() {
        let opt = Opt::try_parse_from(["loader"]).unwrap();
        assert_eq!(opt.iface, "{{ iface }}");
        assert_eq!(format!("{:?}", opt.direction).to_lowercase(), "{{ direction }}");
        assert_eq!(opt.ports, [{{ port }}]);
        let opt =
            Opt::try_parse_from(["loader", "--port", "53", "-p", "443", "-d", "egress"]).unwrap();
        assert_eq!(opt.ports, [53, 443]);
        assert!(matches!(
            TcAttachType::from(opt.direction),
            TcAttachType::Egress
        ));
        assert!(Opt::try_parse_from(["loader", "--port", "0"]).is_err());
        assert!(Opt::try_parse_from(["loader", "--port", "65536"]).is_err());
    }
}
