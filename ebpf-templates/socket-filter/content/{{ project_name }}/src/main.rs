//! Opens a raw packet socket on an interface, attaches the socket filter to
//! it and prints the packets counted per IP protocol every second until
//! Ctrl-C. The filter goes away with the socket when this process exits.

mod loader;

use std::ffi::CString;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::time::Duration;

use anyhow::{Context as _, bail};
use aya::maps::PerCpuArray;
use aya::programs::SocketFilter;
use clap::Parser;
use log::info;
use tokio::time;

use {{ crate_name }}_common as common;

use common::{Counts, PROGRAM, PROTOCOLS_MAP, Protocol};

/// Counts the packets an interface receives and sends by IP protocol
/// (TCP, UDP, ICMP, other) with a socket filter on a raw packet socket.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Opt {
    /// Interface to listen on
    #[arg(short, long, default_value = "{{ iface }}")]
    iface: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let opt = Opt::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    loader::raise_memlock_limit();

    let mut ebpf = loader::load("CAP_BPF")?;
    let program: &mut SocketFilter = ebpf
        .program_mut(PROGRAM)
        .with_context(|| format!("the object has no program {PROGRAM}"))?
        .try_into()?;
    program
        .load()
        .context("loading the socket filter into the kernel")?;
    let socket = packet_socket(&opt.iface)?;
    program
        .attach(&socket)
        .with_context(|| format!("attaching the filter to the socket on {}", opt.iface))?;
    info!("attached {PROGRAM} to a packet socket on {}", opt.iface);

    let protocols: PerCpuArray<_, u64> = PerCpuArray::try_from(
        ebpf.take_map(PROTOCOLS_MAP)
            .with_context(|| format!("no map {PROTOCOLS_MAP}"))?,
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
                for protocol in Protocol::ALL {
                    let per_cpu = protocols.get(&protocol.index(), 0)?;
                    counts.set(protocol, common::total(per_cpu.iter().copied()));
                }
                println!("{counts}");
            }
            result = &mut stop => {
                result?;
                break;
            }
        }
    }
    info!("closing the socket on {}", opt.iface);
    drop(socket);
    Ok(())
}

/// An AF_PACKET raw socket bound to `iface`, seeing every packet the interface
/// receives and sends (ETH_P_ALL). It needs CAP_NET_RAW. The filter keeps no
/// packet, so nothing is ever queued on it and it is never read.
fn packet_socket(iface: &str) -> anyhow::Result<OwnedFd> {
    let name = CString::new(iface).with_context(|| format!("bad interface name {iface:?}"))?;
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        bail!("no interface {iface} (ip link lists them)");
    }
    let all = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain system call; the descriptor is owned right after.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            i32::from(all),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error())
            .context("opening a packet socket (this needs root or CAP_NET_RAW)");
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = all;
    address.sll_ifindex = index as i32;
    // SAFETY: `address` is a sockaddr_ll of the length given.
    let bound = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const address).cast::<libc::sockaddr>(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if bound != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("binding the packet socket to {iface}"));
    }
    Ok(socket)
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
    fn defaults_parse() {
        let opt = Opt::try_parse_from(["loader"]).unwrap();
        assert_eq!(opt.iface, "{{ iface }}");
    }

    #[test]
    fn unknown_interfaces_are_named() {
        let error = packet_socket("no-such-if0").unwrap_err();
        assert!(
            error.to_string().contains("no interface no-such-if0"),
            "{error}"
        );
    }
}
