//! The network lab `gw run` makes for an eBPF project: three network namespaces,
//! `client`, `gateway` and `server`, joined by veth pairs, the gateway routing
//! between them, so a program attached on the gateway sees real traffic without
//! touching the host's interfaces.
//!
//! ```text
//! client 10.200.1.2 eth0 ── eth0 10.200.1.1 [gateway] 10.200.2.1 eth1 ── eth0 10.200.2.2 server
//! ```
//!
//! Each lab is recorded in `$GW_HOME/labs/<id>.json` before anything is made, so
//! `gw lab` finds it and a lab whose gw was killed is removed by the next
//! `gw run` or `gw clean` ([`sweep`]).

pub mod attach;
mod cgroup;
pub mod exec;
pub mod maps;
pub mod netns;
pub mod record;
pub mod session;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::diagnose::Diagnose;
pub use record::Record;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the lab needs root: network namespaces, veth links and bpf(2) are root's (running as uid {uid})")]
    NotRoot { uid: u32 },
    #[error("could not run {tool}: {source}")]
    Tool { tool: &'static str, source: std::io::Error },
    #[error("`{command}` failed: {stderr}")]
    Ip { command: String, stderr: String },
    #[error("network namespace {name}: {source}")]
    Namespace { name: String, source: std::io::Error },
    #[error("cgroup {path}: {source}")]
    Cgroup { path: PathBuf, source: std::io::Error },
    #[error("lab record {path}: {source}")]
    Record { path: PathBuf, source: std::io::Error },
    #[error("no lab is running (gw run in an eBPF project starts one)")]
    NoLab,
    #[error("lab {id} has no namespaces: its programs are on the host's interface {iface}")]
    OnHost { id: String, iface: String },
    #[error("{count} labs are running ({ids}); name one with --lab")]
    Ambiguous { count: usize, ids: String },
    #[error("no lab {id} is running (running: {running})")]
    UnknownLab { id: String, running: String },
    #[error("{0}")]
    Program(String),
    #[error("{0}")]
    Map(String),
}

impl Diagnose for Error {
    fn is_input(&self) -> bool {
        matches!(
            self,
            Error::NoLab | Error::OnHost { .. } | Error::Ambiguous { .. } | Error::UnknownLab { .. } | Error::Map(_)
        )
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::NotRoot { .. } => Some("run it as root, e.g. `sudo -E gw run`".into()),
            Error::Tool { tool: "ip", .. } => Some("install iproute2 (`apt-get install iproute2`)".into()),
            _ => None,
        }
    }
}

/// The three places of a lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Gateway,
    Server,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Client, Role::Gateway, Role::Server];

    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Gateway => "gateway",
            Role::Server => "server",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == text)
            .ok_or_else(|| format!("{text:?} is not a place in the lab: client, gateway or server"))
    }
}

pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 200, 1, 2);
pub const GATEWAY_CLIENT_SIDE: Ipv4Addr = Ipv4Addr::new(10, 200, 1, 1);
pub const GATEWAY_SERVER_SIDE: Ipv4Addr = Ipv4Addr::new(10, 200, 2, 1);
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 200, 2, 2);
/// The gateway's interface towards the client, where XDP and tc programs attach.
pub const GATEWAY_IFACE: &str = "eth0";

/// A lab that exists; [`Lab::remove`] (or dropping it) takes it all down.
pub struct Lab {
    pub record: Record,
    record_path: PathBuf,
    removed: bool,
}

impl Lab {
    /// Makes a lab, with a cgroup of its own when `cgroup` (for cgroup programs). Recorded
    /// first, so that whatever a failure or a kill leaves is found and removed later.
    pub fn create(labs: &Path, cgroup: bool) -> Result<Lab, Error> {
        let mut lab = Lab::recorded(labs, None)?;
        lab.build(cgroup)?;
        Ok(lab)
    }

    /// No namespaces: the programs go on `iface` of the host (`gw run --iface`). Recorded all
    /// the same, for `gw lab map`.
    pub fn on_host(labs: &Path, iface: &str) -> Result<Lab, Error> {
        Lab::recorded(labs, Some(iface))
    }

    fn recorded(labs: &Path, iface: Option<&str>) -> Result<Lab, Error> {
        require_root()?;
        let id = record::new_id();
        let record = Record::new(&id, labs, iface);
        let record_path = record::path(labs, &id);
        record.write(&record_path)?;
        Ok(Lab { record, record_path, removed: false })
    }

    /// The namespace of `role`; none when the programs are on a host interface.
    pub fn namespace(&self, role: Role) -> Option<&str> {
        self.record.namespace(role)
    }

    /// The interface XDP and tc programs attach to: the gateway's towards the client, or the
    /// host's named one.
    pub fn iface(&self) -> &str {
        self.record.iface.as_deref().unwrap_or(GATEWAY_IFACE)
    }

    /// The lab's cgroup, when its programs need one.
    pub fn cgroup(&self) -> Option<&Path> {
        self.record.cgroup.as_deref()
    }

    /// Saves what the running lab offers to `gw lab` (its maps' ids).
    pub fn save(&self) -> Result<(), Error> {
        self.record.write(&self.record_path)
    }

    fn build(&mut self, with_cgroup: bool) -> Result<(), Error> {
        let [client, gateway, server] = [Role::Client, Role::Gateway, Role::Server]
            .map(|role| self.record.namespace(role).unwrap_or_default().to_string());
        for name in [&client, &gateway, &server] {
            netns::ip(&["netns", "add", name])?;
            netns::ip(&["-n", name, "link", "set", "lo", "up"])?;
        }
        // Host-side names are unique per lab; inside its namespace each end is renamed.
        let id = &self.record.id;
        link(&format!("gw{id}c"), (&client, "eth0"), (&gateway, "eth0"))?;
        link(&format!("gw{id}s"), (&gateway, "eth1"), (&server, "eth0"))?;
        address(&client, CLIENT)?;
        address(&gateway, GATEWAY_CLIENT_SIDE)?;
        netns::ip(&["-n", &gateway, "addr", "add", &format!("{GATEWAY_SERVER_SIDE}/24"), "dev", "eth1"])?;
        netns::ip(&["-n", &gateway, "link", "set", "eth1", "up"])?;
        address(&server, SERVER)?;
        netns::ip(&["-n", &client, "route", "add", "default", "via", &GATEWAY_CLIENT_SIDE.to_string()])?;
        netns::ip(&["-n", &server, "route", "add", "default", "via", &GATEWAY_SERVER_SIDE.to_string()])?;
        netns::within(&gateway, forward)?.map_err(|source| Error::Namespace { name: gateway.clone(), source })?;
        if with_cgroup {
            let (path, mount) = cgroup::create(&self.record.dir(), &self.record.id)?;
            self.record.cgroup = Some(path);
            self.record.mount = mount;
            self.save()?;
        }
        Ok(())
    }

    /// Stops what runs inside, deletes the namespaces (their links with them), the cgroup and
    /// the record.
    pub fn remove(mut self) -> Result<(), Error> {
        self.removed = true;
        teardown(&self.record, &self.record_path)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.removed {
            let _ = teardown(&self.record, &self.record_path);
        }
    }
}

/// Labs are root's: namespaces, veth links and bpf(2).
pub fn require_root() -> Result<(), Error> {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    if uid == 0 { Ok(()) } else { Err(Error::NotRoot { uid }) }
}

/// A veth pair: `a` in one namespace, its peer in the other, each renamed there.
fn link(host_name: &str, a: (&str, &str), b: (&str, &str)) -> Result<(), Error> {
    let peer = format!("{host_name}p");
    netns::ip(&["link", "add", host_name, "type", "veth", "peer", "name", &peer])?;
    for ((namespace, inside), name) in [(a, host_name), (b, peer.as_str())] {
        netns::ip(&["link", "set", name, "netns", namespace])?;
        netns::ip(&["-n", namespace, "link", "set", name, "name", inside])?;
    }
    Ok(())
}

fn address(namespace: &str, address: Ipv4Addr) -> Result<(), Error> {
    netns::ip(&["-n", namespace, "addr", "add", &format!("{address}/24"), "dev", "eth0"])?;
    netns::ip(&["-n", namespace, "link", "set", "eth0", "up"])
}

/// Routing on (per namespace: the thread is inside the gateway's).
fn forward() -> std::io::Result<()> {
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
}

fn teardown(record: &Record, record_path: &Path) -> Result<(), Error> {
    let mut first_error = None;
    for name in &record.namespaces {
        netns::kill_inside(name);
        if let Err(e) = netns::delete(name) {
            first_error.get_or_insert(e);
        }
    }
    if let Some(path) = &record.cgroup
        && let Err(e) = cgroup::remove(path, record.mount.as_deref())
    {
        first_error.get_or_insert(e);
    }
    let _ = std::fs::remove_dir_all(record.dir());
    match first_error {
        Some(e) => Err(e),
        None => std::fs::remove_file(record_path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(Error::Record { path: record_path.to_path_buf(), source: e }),
        }),
    }
}

/// Removes the labs whose gw is gone (killed, or the machine rebooted); their ids.
pub fn sweep(labs: &Path) -> Result<Vec<String>, Error> {
    let mut removed = Vec::new();
    for (path, record) in record::all(labs)? {
        if !record.alive() {
            teardown(&record, &path)?;
            removed.push(record.id);
        }
    }
    Ok(removed)
}

/// The running lab `id` names, or the only one.
pub fn find(labs: &Path, id: Option<&str>) -> Result<Record, Error> {
    let running: Vec<Record> = record::all(labs)?.into_iter().map(|(_, r)| r).filter(Record::alive).collect();
    let ids = || running.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ");
    match id {
        Some(id) => running.iter().find(|r| r.id == id).cloned().ok_or_else(|| Error::UnknownLab {
            id: id.to_string(),
            running: if running.is_empty() { "none".into() } else { ids() },
        }),
        None => match running.len() {
            0 => Err(Error::NoLab),
            1 => Ok(running[0].clone()),
            count => Err(Error::Ambiguous { count, ids: ids() }),
        },
    }
}
