//! Loads the cgroup SKB programs, attaches them to a cgroup's ingress,
//! egress or both, and prints the packets and bytes counted every second
//! until Ctrl-C. The programs are detached when this process exits.

use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use aya::maps::PerCpuArray;
use aya::programs::{CgroupAttachMode, CgroupSkb, CgroupSkbAttachType};
use aya::{Ebpf, EbpfLoader};
use clap::{Parser, ValueEnum};
use log::{debug, info, warn};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{SignalKind, signal};
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
    raise_memlock_limit();

    let mut ebpf = load()?;
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
    let stop = shutdown();
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
        .context("loading the eBPF object (this needs root, or CAP_BPF with CAP_NET_ADMIN)")?;
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
