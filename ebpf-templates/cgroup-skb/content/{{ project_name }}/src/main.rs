//! Loads the cgroup SKB programs, attaches them to a cgroup's ingress,
//! egress or both, and prints the packets and bytes counted every second
//! until Ctrl-C. The programs are detached when this process exits.

mod loader;

use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use aya::maps::PerCpuArray;
use aya::programs::{CgroupAttachMode, CgroupSkb, CgroupSkbAttachType};
use clap::{Parser, ValueEnum};
use log::info;
use tokio::time;

use {{ crate_name }}_common as common;

use common::{CGROUP2_SUPER_MAGIC, Direction, TRAFFIC_MAP, Traffic};

/// Counts the packets and bytes that the processes of a cgroup (and of its
/// descendants) receive or send, and lets every packet through.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Opt {
    /// cgroup v2 directory to attach to
    #[arg(short, long, default_value = "{{ cgroup_path }}")]
    cgroup: PathBuf,

    /// Which traffic to count
    #[arg(short, long, value_enum, default_value = "{{ direction }}")]
    direction: Which,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Which {
    Ingress,
    Egress,
    Both,
}

impl Which {
    fn directions(self) -> &'static [Direction] {
        match self {
            Which::Ingress => &[Direction::Ingress],
            Which::Egress => &[Direction::Egress],
            Which::Both => &Direction::ALL,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let opt = Opt::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cgroup =
        File::open(&opt.cgroup).with_context(|| format!("opening {}", opt.cgroup.display()))?;
    check_cgroup2(&cgroup, &opt.cgroup)?;
    loader::raise_memlock_limit();

    let mut ebpf = loader::load("CAP_BPF with CAP_NET_ADMIN")?;
    for &direction in opt.direction.directions() {
        let name = direction.program();
        let program: &mut CgroupSkb = ebpf
            .program_mut(name)
            .with_context(|| format!("the object has no program {name}"))?
            .try_into()?;
        program
            .load()
            .with_context(|| format!("loading {name} into the kernel"))?;
        let attach_type = match direction {
            Direction::Ingress => CgroupSkbAttachType::Ingress,
            Direction::Egress => CgroupSkbAttachType::Egress,
        };
        // Attached through a BPF link: programs already on the cgroup keep running.
        program
            .attach(&cgroup, attach_type, CgroupAttachMode::Single)
            .with_context(|| format!("attaching {name} to {}", opt.cgroup.display()))?;
        info!(
            "attached {name} to {} ({})",
            opt.cgroup.display(),
            direction.name()
        );
    }

    let traffic: PerCpuArray<_, Traffic> = PerCpuArray::try_from(
        ebpf.take_map(TRAFFIC_MAP)
            .with_context(|| format!("no map {TRAFFIC_MAP}"))?,
    )?;

    println!(
        "counting traffic of {} every second; Ctrl-C to stop",
        opt.cgroup.display()
    );
    let stop = loader::shutdown();
    tokio::pin!(stop);
    let mut tick = time::interval(Duration::from_secs(1));
    tick.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let mut line = Vec::new();
                for &direction in opt.direction.directions() {
                    let per_cpu = traffic.get(&direction.index(), 0)?;
                    line.push(format!("{}: {}", direction.name(), Traffic::sum(per_cpu.iter())));
                }
                println!("{}", line.join("  "));
            }
            result = &mut stop => {
                result?;
                break;
            }
        }
    }
    info!("detaching from {}", opt.cgroup.display());
    Ok(())
}

/// cgroup SKB programs attach to cgroup v2 directories only; say where v2 is
/// mounted when given something else (hybrid systems mount it beside v1).
fn check_cgroup2(dir: &File, path: &Path) -> anyhow::Result<()> {
    // SAFETY: statfs is plain data, and fstatfs fills it.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(dir.as_raw_fd(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("statfs {}", path.display()));
    }
    #[allow(
        clippy::unnecessary_cast,
        reason = "f_type's type differs between architectures"
    )]
    let f_type = stat.f_type as i64;
    if f_type != CGROUP2_SUPER_MAGIC {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let v2: Vec<&str> = common::cgroup2_mounts(&mounts).collect();
        let hint = if v2.is_empty() {
            "no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup/unified)"
                .to_string()
        } else {
            format!("cgroup v2 is mounted at {}", v2.join(", "))
        };
        bail!("{} is not a cgroup v2 directory; {hint}", path.display());
    }
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
    fn defaults_parse_and_both_means_both() {
        let opt = Opt::try_parse_from(["loader"]).unwrap();
        assert_eq!(opt.cgroup, Path::new("{{ cgroup_path }}"));
        assert_eq!(
            opt.direction
                .directions()
                .iter()
                .map(|d| d.name())
                .collect::<Vec<_>>(),
            ["{{ direction }}"]
        );
        let opt = Opt::try_parse_from(["loader", "--direction", "both"]).unwrap();
        assert_eq!(opt.direction.directions(), Direction::ALL);
    }
}
