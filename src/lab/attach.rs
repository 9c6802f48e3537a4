//! Each program of the object attached where its kind belongs in the lab: XDP
//! and tc on the gateway's interface towards the client (ingress), socket
//! filters on a packet socket there, cgroup programs on the lab's cgroup.
//! Kinds that hook the kernel rather than its network (kprobes, tracepoints)
//! are left to the project's own loader, said so.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use aya::Ebpf;
use aya::programs::tc::{self, TcAttachType};
use aya::programs::{CgroupAttachMode, CgroupSkbAttachType, Program, XdpMode};

use super::{Error, Lab, Role, netns};
use crate::bpftest::kernel;

/// The programs attached; dropping it (with the object) detaches them.
pub struct Attachments {
    pub attached: Vec<Attached>,
    pub skipped: Vec<Skipped>,
    /// Packet sockets that socket filters are attached to.
    _sockets: Vec<OwnedFd>,
}

#[derive(Debug)]
pub struct Attached {
    pub program: String,
    pub kind: &'static str,
    /// Where, e.g. "gateway eth0 ingress (native mode)".
    pub place: String,
}

#[derive(Debug)]
pub struct Skipped {
    pub program: String,
    pub reason: String,
}

pub fn attach_all(ebpf: &mut Ebpf, lab: &Lab) -> Result<Attachments, Error> {
    let gateway = lab.namespace(Role::Gateway).map(str::to_string);
    let iface = lab.iface().to_string();
    let at = |what: &str| match &gateway {
        Some(_) => format!("gateway {iface} {what}"),
        None => format!("the host's {iface} {what}"),
    };
    let mut out = Attachments { attached: Vec::new(), skipped: Vec::new(), _sockets: Vec::new() };
    for (name, program) in ebpf.programs_mut() {
        let name = name.to_string();
        let failed = |what: &str, error: &dyn std::fmt::Display| Error::Program(format!("{what} {name}: {error}"));
        let kind = match program {
            Program::Xdp(_) => "XDP",
            Program::SchedClassifier(_) => "tc",
            Program::SocketFilter(_) => "socket filter",
            Program::CgroupSkb(_) => "cgroup skb",
            other => {
                let reason = format!(
                    "a {} program hooks the kernel, not the lab's network; run the project's loader in the lab: gw lab exec gateway -- <loader>",
                    kind_name(other)
                );
                out.skipped.push(Skipped { program: name, reason });
                continue;
            }
        };
        kernel::load(program).map_err(|e| failed("loading", &e))?;
        let place = match program {
            Program::Xdp(p) => there(gateway.as_deref(), || {
                p.attach(&iface, XdpMode::Default)
                    .map(|_| "native mode")
                    .or_else(|_| p.attach(&iface, XdpMode::Skb).map(|_| "generic mode"))
            })?
            .map(|mode| at(&format!("ingress ({mode})")))
            .map_err(|e| failed("attaching", &e))?,
            Program::SchedClassifier(p) => there(gateway.as_deref(), || {
                // Before tcx (Linux 6.6) tc programs hang off a clsact qdisc; it may exist already.
                let _ = tc::qdisc_add_clsact(&iface);
                p.attach(&iface, TcAttachType::Ingress)
            })?
            .map(|_| at("ingress"))
            .map_err(|e| failed("attaching", &e))?,
            Program::SocketFilter(p) => {
                let socket = there(gateway.as_deref(), || packet_socket(&iface))?
                    .map_err(|e| failed("opening a socket for", &e))?;
                p.attach(&socket).map_err(|e| failed("attaching", &e))?;
                out._sockets.push(socket);
                format!("a packet socket on {}", at("").trim_end())
            }
            Program::CgroupSkb(p) => {
                let Some(cgroup) = lab.cgroup() else {
                    let reason = "a cgroup program needs the lab's cgroup; run gw run without --iface".to_string();
                    out.skipped.push(Skipped { program: name, reason });
                    continue;
                };
                let direction = p.expected_attach_type().unwrap_or(CgroupSkbAttachType::Ingress);
                let dir = super::cgroup::open(cgroup)?;
                p.attach(dir, direction, CgroupAttachMode::Single).map_err(|e| failed("attaching", &e))?;
                let way = if matches!(direction, CgroupSkbAttachType::Egress) { "egress" } else { "ingress" };
                format!("the lab's cgroup ({way}; gw lab exec joins it)")
            }
            _ => unreachable!("the kinds above"),
        };
        out.attached.push(Attached { program: name, kind, place });
    }
    out.attached.sort_by(|a, b| a.program.cmp(&b.program));
    Ok(out)
}

/// Runs `work` inside the namespace when there is one, else right here (on the host).
fn there<T: Send>(namespace: Option<&str>, work: impl FnOnce() -> T + Send) -> Result<T, Error> {
    match namespace {
        Some(name) => netns::within(name, work),
        None => Ok(work()),
    }
}

/// Whether any program of the object needs the lab's cgroup.
pub fn needs_cgroup(ebpf: &Ebpf) -> bool {
    ebpf.programs().any(|(_, p)| matches!(p, Program::CgroupSkb(_)))
}

fn kind_name(program: &Program) -> &'static str {
    match program {
        Program::KProbe(_) => "kprobe",
        Program::TracePoint(_) => "tracepoint",
        Program::RawTracePoint(_) => "raw tracepoint",
        Program::UProbe(_) => "uprobe",
        Program::PerfEvent(_) => "perf event",
        _ => "kernel-hook",
    }
}

/// A packet socket bound to `iface`, seeing every frame on it: what a socket filter reads.
/// Opened on a thread inside the gateway's namespace, in a lab.
fn packet_socket(iface: &str) -> std::io::Result<OwnedFd> {
    let all = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: socket(2) with constant arguments; the descriptor is owned at once.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, i32::from(all)) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let iface = std::ffi::CString::new(iface).map_err(std::io::Error::other)?;
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(iface.as_ptr()) };
    if index == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: an all-zero sockaddr_ll is valid; the fields set below are what bind reads.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = all;
    address.sll_ifindex = index as i32;
    // SAFETY: bind(2) with a sockaddr_ll of the size given.
    let bound = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&address as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if bound != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(socket)
}
