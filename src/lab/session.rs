//! A lab with an eBPF object attached: what `gw run` keeps up in an eBPF
//! project, with a server to talk to ([`Session::serve`]: HTTP on
//! `10.200.2.2:8080`, gw's echo upstream, and a UDP echo on `10.200.2.2:9000`),
//! or under a proxy-wasm project's topology (`[topology.ebpf]`).

use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aya::Ebpf;

use super::attach::{self, Attachments};
use super::maps::{self, Change, Snapshot};
use super::{Error, Lab, Record, Role, SERVER, netns};
use crate::bpftest::kernel;
use crate::topology::echo::Echo;

pub const HTTP_PORT: u16 = 8080;
pub const UDP_PORT: u16 = 9000;

/// What happened since the last look.
#[derive(Debug)]
pub enum Event {
    Map(Change),
    /// A line the program logged with aya-log.
    Log {
        level: log::Level,
        text: String,
    },
}

pub struct Session {
    lab: Lab,
    attachments: Attachments,
    ebpf: Ebpf,
    logger: Option<aya_log::EbpfLogger<Collector>>,
    logged: Arc<Mutex<Vec<(log::Level, String)>>>,
    last: Snapshot,
    echo: Option<Echo>,
    udp_stop: Arc<AtomicBool>,
}

impl Session {
    /// Makes the lab (or, with `iface`, only its record: the programs go on that host
    /// interface), loads `object` with its aya-log statements at `level` and attaches its
    /// programs. Nothing is left behind when a step fails.
    pub fn start(object: &Path, labs: &Path, level: log::LevelFilter, iface: Option<&str>) -> Result<Session, Error> {
        super::require_root()?;
        let mut ebpf = kernel::open_logging(object, level)
            .map_err(|e| Error::Program(format!("loading {}: {e}", object.display())))?;
        let mut lab = match iface {
            Some(iface) => Lab::on_host(labs, iface)?,
            None => Lab::create(labs, attach::needs_cgroup(&ebpf))?,
        };
        let logged = Arc::new(Mutex::new(Vec::new()));
        // An object without log statements has no log ring buffer: nothing to stream.
        let logger = aya_log::EbpfLogger::init_with_logger(&mut ebpf, Collector(Arc::clone(&logged))).ok();
        let attachments = attach::attach_all(&mut ebpf, &lab)?;
        lab.record.maps = maps::ids(&ebpf);
        lab.save()?;
        let last = maps::snapshot(&ebpf);
        let udp_stop = Arc::new(AtomicBool::new(false));
        Ok(Session { lab, attachments, ebpf, logger, logged, last, echo: None, udp_stop })
    }

    /// Starts the server's HTTP and UDP echoes (a lab's, not a host interface's).
    pub fn serve(&mut self) -> Result<(), Error> {
        let Some(server) = self.lab.namespace(Role::Server).map(str::to_string) else { return Ok(()) };
        let bound = |source| Error::Namespace { name: server.clone(), source };
        let listener = netns::within(&server, || TcpListener::bind((SERVER, HTTP_PORT)))?.map_err(bound)?;
        self.echo = Some(Echo::on(listener, "server", 1).map_err(bound)?);
        let socket = netns::within(&server, || UdpSocket::bind((SERVER, UDP_PORT)))?.map_err(bound)?;
        udp_echo(socket, Arc::clone(&self.udp_stop)).map_err(bound)
    }

    pub fn record(&self) -> &Record {
        &self.lab.record
    }

    pub fn attachments(&self) -> &Attachments {
        &self.attachments
    }

    /// The maps' changes and the program's log lines since the last call.
    pub fn poll(&mut self) -> Vec<Event> {
        if let Some(logger) = &mut self.logger {
            logger.flush();
        }
        let mut events: Vec<Event> = std::mem::take(&mut *self.logged.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .map(|(level, text)| Event::Log { level, text })
            .collect();
        let now = maps::snapshot(&self.ebpf);
        events.extend(now.changes(&self.last).into_iter().map(Event::Map));
        self.last = now;
        events
    }

    /// Detaches the programs (by closing them), then removes the lab.
    pub fn stop(self) -> Result<(), Error> {
        let Session { lab, attachments, ebpf, logger, udp_stop, echo, .. } = self;
        udp_stop.store(true, Ordering::Relaxed);
        drop(echo);
        drop(logger);
        drop(attachments);
        drop(ebpf);
        lab.remove()
    }
}

/// Answers every datagram with itself, until `stop`.
fn udp_echo(socket: UdpSocket, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    std::thread::Builder::new().name("gw-lab-udp".into()).spawn(move || {
        let mut buffer = [0u8; 65_536];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, peer)) = socket.recv_from(&mut buffer) {
                let _ = socket.send_to(&buffer[..n], peer);
            }
        }
    })?;
    Ok(())
}

/// Keeps what aya-log decodes for [`Session::poll`] to hand out (nothing below cli/ prints).
struct Collector(Arc<Mutex<Vec<(log::Level, String)>>>);

impl log::Log for Collector {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push((record.level(), record.args().to_string()));
    }

    fn flush(&self) {}
}
