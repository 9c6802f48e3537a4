//! Loads the XDP program, attaches it to an interface, fills the blocklist
//! from `--block` and prints the verdict counters every second until Ctrl-C.
//! The program is detached when this process exits.

mod loader;

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::Context as _;
use aya::maps::{HashMap, PerCpuArray};
use aya::programs::{Xdp, XdpMode};
use clap::Parser;
use log::{debug, info};
use tokio::time;

use {{ crate_name }}_common as common;

use common::{BLOCKLIST_MAP, Counts, PROGRAM, VERDICTS_MAP, Verdict};

/// Drops IPv4 packets from blocked source addresses in XDP, before the kernel's
/// network stack sees them, and counts what passed and what was dropped.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Opt {
    /// Interface to attach to
    #[arg(short, long, default_value = "{{ iface }}")]
    iface: String,

    /// Drop IPv4 packets from this source address; repeatable
    #[arg(short, long = "block", value_name = "IP")]
    block: Vec<Ipv4Addr>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let opt = Opt::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    loader::raise_memlock_limit();

    let mut ebpf = loader::load("CAP_BPF with CAP_NET_ADMIN")?;
    let program: &mut Xdp = ebpf
        .program_mut(PROGRAM)
        .with_context(|| format!("the object has no program {PROGRAM}"))?
        .try_into()?;
    program
        .load()
        .context("loading the XDP program into the kernel")?;
    // Native (driver) mode where the driver supports it, else generic (skb) mode.
    let mode = match program.attach(&opt.iface, XdpMode::Default) {
        Ok(_) => "default",
        Err(error) => {
            debug!("attaching in the default mode failed ({error}); trying skb mode");
            program
                .attach(&opt.iface, XdpMode::Skb)
                .with_context(|| format!("attaching XDP to {}", opt.iface))?;
            "skb"
        }
    };
    info!("attached {PROGRAM} to {} ({mode} mode)", opt.iface);

    let mut blocklist: HashMap<_, u32, u32> = HashMap::try_from(
        ebpf.take_map(BLOCKLIST_MAP)
            .with_context(|| format!("no map {BLOCKLIST_MAP}"))?,
    )?;
    for addr in &opt.block {
        blocklist
            .insert(common::blocklist_key(*addr), 1u32, 0)
            .with_context(|| format!("blocking {addr}"))?;
        info!("blocking {addr}");
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
    fn defaults_and_repeated_blocks_parse() {
        let opt = Opt::try_parse_from(["loader"]).unwrap();
        assert_eq!((opt.iface.as_str(), opt.block.len()), ("{{ iface }}", 0));
        let opt =
            Opt::try_parse_from(["loader", "--block", "10.0.0.1", "-b", "192.0.2.7"]).unwrap();
        assert_eq!(
            opt.block,
            [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(192, 0, 2, 7)]
        );
        assert!(Opt::try_parse_from(["loader", "--block", "10.0.0.256"]).is_err());
    }
}
