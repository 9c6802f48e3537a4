//! `gw run` inside an eBPF project: build, then the network lab with the
//! object's programs attached, traffic on request, the maps' changes and the
//! program's log lines as they happen, until Ctrl-C.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::Result;
use crate::bpftest::value::Value;
use crate::cli::Terminal;
use crate::cli::toolchain::ToolchainArgs;
use crate::interrupt::Subscription;
use crate::lab::session::{self, Event, Session};
use crate::lab::{self, Role, exec, netns};
use crate::project::{Kind, Project};
use crate::settings::Settings;
use crate::toolchain::{Cargo, Job, Profile, Role as Artifact};
use crate::topology::Error;
use crate::topology::spec::EbpfSpec;

/// The lab's flags: traffic `gw run` sends from the client once the lab is up, and how much of
/// the program's logging to show.
#[derive(Debug, clap::Args)]
pub struct LabArgs {
    /// In an eBPF project or with [topology.ebpf]: show the program's aya-log lines up to this
    /// level (off, error, warn, info, debug, trace).
    #[arg(long, value_name = "LEVEL", value_enum, default_value_t = BpfLog::Info)]
    bpf_log: BpfLog,

    /// In an eBPF project: attach the programs to this interface of the host instead of making a
    /// lab (XDP and tc ingress, socket filters; no cgroup programs, no traffic flags).
    #[arg(long, value_name = "IFACE", conflicts_with_all = ["ping", "curl", "udp"])]
    iface: Option<String>,

    /// In an eBPF project: ping the server from the client (3 echo requests).
    #[arg(long)]
    ping: bool,

    /// In an eBPF project: fetch URL from the client with curl, e.g. http://10.200.2.2:8080/.
    #[arg(long, value_name = "URL")]
    curl: Option<String>,

    /// In an eBPF project: send TEXT in a UDP datagram from the client to the server's echo
    /// (10.200.2.2:9000) and wait a second for the answer.
    #[arg(long, value_name = "TEXT")]
    udp: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum BpfLog {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LabArgs {
    /// Whether a flag only an eBPF project takes was given.
    pub fn ebpf_only(&self) -> bool {
        self.ping || self.curl.is_some() || self.udp.is_some() || self.iface.is_some()
    }

    pub fn bpf_log(&self) -> log::LevelFilter {
        match self.bpf_log {
            BpfLog::Off => log::LevelFilter::Off,
            BpfLog::Error => log::LevelFilter::Error,
            BpfLog::Warn => log::LevelFilter::Warn,
            BpfLog::Info => log::LevelFilter::Info,
            BpfLog::Debug => log::LevelFilter::Debug,
            BpfLog::Trace => log::LevelFilter::Trace,
        }
    }
}

pub fn run(
    project: &Project,
    toolchain: &ToolchainArgs,
    flags: &LabArgs,
    settings: &Settings,
    terminal: &Terminal,
) -> Result<i32> {
    // Before building: without root there will be no lab.
    lab::require_root()?;
    let object = match build(project, toolchain, settings, terminal)? {
        Ok(object) => object,
        Err(code) => return Ok(code),
    };
    // Subscribed before the lab exists: a Ctrl-C while it is being made still tears it down.
    let interrupts = Subscription::new()?;
    let mut session = Session::start(&object, &settings.layout.labs(), flags.bpf_log(), flags.iface.as_deref())?;
    session.serve()?;
    match &flags.iface {
        Some(iface) => {
            println!("lab {}: the programs on the host's {iface}, no namespaces", session.record().id);
            show_attachments(&session, terminal);
        }
        None => {
            show_lab(&session, terminal);
            send(&session, flags, terminal);
        }
    }
    println!("ready; Ctrl-C to stop");
    loop {
        show_events(&mut session);
        if interrupts.pending().is_some() {
            break;
        }
        std::thread::sleep(POLL);
    }
    stop(session, terminal)
}

/// How often the maps are read while the lab runs.
const POLL: Duration = Duration::from_millis(250);

/// Removes the labs a killed gw left, then builds the eBPF project: its object, or cargo's
/// exit code (its output was shown).
pub fn build(
    project: &Project,
    toolchain: &ToolchainArgs,
    settings: &Settings,
    terminal: &Terminal,
) -> Result<Result<PathBuf, i32>> {
    for id in lab::sweep(&settings.layout.labs())? {
        terminal.status(format!("removed lab {id}, left by a gw that is gone"));
    }
    let toolchain = toolchain.toolchain(project, terminal)?;
    let job = Job::for_project(project, Profile::Release, terminal.colors_for_children())?;
    Ok(match toolchain.build(&job, &mut std::io::stderr())? {
        Cargo::Failed(code) => Err(code),
        Cargo::Done(artifacts) => Ok(artifacts
            .into_iter()
            .find(|a| a.role == Artifact::BpfObject)
            .map(|a| a.path)
            .expect("builds check their outputs")),
    })
}

/// The maps' changes and the program's log lines since the last look, on stdout.
pub fn show_events(session: &mut Session) {
    for event in session.poll() {
        match event {
            Event::Map(change) => println!(
                "map {}[{}] {} → {}",
                change.map,
                change.key,
                change.before.as_deref().unwrap_or("(none)"),
                change.after.as_deref().unwrap_or("(deleted)")
            ),
            Event::Log { level, text } => println!("log {level:<5} {text}"),
        }
    }
}

pub fn stop(session: Session, terminal: &Terminal) -> Result<i32> {
    let id = session.record().id.clone();
    let namespaces = !session.record().namespaces.is_empty();
    session.stop()?;
    let what = if namespaces { "programs detached, namespaces deleted" } else { "programs detached" };
    terminal.status(format!("lab {id} removed: {what}"));
    Ok(0)
}

/// The programs attached, and those left out with the reason.
pub fn show_attachments(session: &Session, terminal: &Terminal) {
    for attached in &session.attachments().attached {
        println!("attached {} ({}) on {}", attached.program, attached.kind, attached.place);
    }
    for skipped in &session.attachments().skipped {
        terminal.warning(format!("{} not attached: {}", skipped.program, skipped.reason));
    }
}

fn show_lab(session: &Session, terminal: &Terminal) {
    let record = session.record();
    println!(
        "lab {}: client {} ── gateway {} | {} ── server {}",
        record.id,
        lab::CLIENT,
        lab::GATEWAY_CLIENT_SIDE,
        lab::GATEWAY_SERVER_SIDE,
        lab::SERVER
    );
    show_attachments(session, terminal);
    let server = lab::SERVER;
    println!("server: http://{server}:{}/ (echo), udp {server}:{} (echo)", session::HTTP_PORT, session::UDP_PORT);
    println!("try:    gw lab exec client -- curl -s http://{server}:{}/", session::HTTP_PORT);
    if let Some(map) = record.maps.keys().find(|m| !m.starts_with("AYA_") && !m.starts_with('.')) {
        println!("        gw lab map {map}");
    }
}

/// The traffic asked for, each outcome on its own line.
fn send(session: &Session, traffic: &LabArgs, terminal: &Terminal) {
    let record = session.record();
    let server = lab::SERVER.to_string();
    let mut commands: Vec<(&str, Vec<String>)> = Vec::new();
    if traffic.ping {
        commands
            .push(("ping", vec!["-c".into(), "3".into(), "-W".into(), "1".into(), "-i".into(), "0.2".into(), server]));
    }
    if let Some(url) = &traffic.curl {
        commands.push(("curl", vec!["-sS".into(), "-m".into(), "3".into(), url.clone()]));
    }
    for (program, args) in commands {
        let outcome = exec::command(record, Role::Client, OsStr::new(program))
            .map_err(crate::Error::from)
            .and_then(|mut command| Ok(command.args(&args).stdin(Stdio::null()).status()?));
        match outcome {
            Ok(status) if status.success() => println!("client ▸ {program}: ok"),
            Ok(status) => println!("client ▸ {program}: failed ({status})"),
            Err(e) => terminal.warning(format!("{program} from the client: {e}")),
        }
    }
    if let Some(text) = &traffic.udp {
        let client = record.namespace(Role::Client).unwrap_or_default();
        match netns::within(client, || udp_round_trip(text.as_bytes())) {
            Ok(Ok(answer)) => println!("client ▸ udp: answered {:?}", String::from_utf8_lossy(&answer)),
            Ok(Err(e)) => println!("client ▸ udp: no answer ({e})"),
            Err(e) => terminal.warning(format!("udp from the client: {e}")),
        }
    }
}

fn udp_round_trip(payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let socket = std::net::UdpSocket::bind((lab::CLIENT, 0))?;
    socket.set_read_timeout(Some(Duration::from_secs(1)))?;
    socket.send_to(payload, (lab::SERVER, session::UDP_PORT))?;
    let mut buffer = vec![0u8; 65_536];
    let n = socket.recv(&mut buffer)?;
    buffer.truncate(n);
    Ok(buffer)
}

/// `[topology.ebpf]`: the eBPF project's programs attached in a lab whose gateway namespace
/// the proxy-wasm topology then runs in; the maps' changes shown as they happen.
pub struct Firewall {
    gateway: String,
    stop: Arc<AtomicBool>,
    watcher: std::thread::JoinHandle<Session>,
}

impl Firewall {
    /// Builds the eBPF project and attaches it; `Err(code)` when cargo failed.
    pub fn start(
        (ebpf, deny): (&Project, Deny<'_>),
        (toolchain, level): (&ToolchainArgs, log::LevelFilter),
        settings: &Settings,
        terminal: &Terminal,
    ) -> Result<Result<Firewall, i32>> {
        let object = match build(ebpf, toolchain, settings, terminal)? {
            Ok(object) => object,
            Err(code) => return Ok(Err(code)),
        };
        let mut session = Session::start(&object, &settings.layout.labs(), level, None)?;
        let record = session.record();
        println!(
            "lab {}: client {} ── gateway {} (the topology) ── server {}",
            record.id,
            lab::CLIENT,
            lab::GATEWAY_CLIENT_SIDE,
            lab::SERVER
        );
        show_attachments(&session, terminal);
        if let Err(e) = preload(&session, deny) {
            stop(session, terminal)?;
            return Err(e);
        }
        if !deny.1.is_empty() {
            let list: Vec<String> = deny.1.iter().map(Ipv4Addr::to_string).collect();
            terminal.detail(format!("  {}: {} denied ([topology.ebpf] deny)", deny.0, list.join(", ")));
        }
        let record = session.record();
        let gateway = record.namespace(Role::Gateway).unwrap_or_default().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let watcher = std::thread::Builder::new().name("gw-lab-maps".into()).spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                show_events(&mut session);
                std::thread::sleep(POLL);
            }
            session
        })?;
        Ok(Ok(Firewall { gateway, stop, watcher }))
    }

    /// The namespace the topology runs in.
    pub fn gateway(&self) -> &str {
        &self.gateway
    }

    pub fn stop(self, terminal: &Terminal) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        let session = self.watcher.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        stop(session, terminal).map(|_| ())
    }
}

/// `[topology.ebpf] deny`: the program's map, and the addresses to put in it.
pub type Deny<'a> = (&'a str, &'a [Ipv4Addr]);

/// Each denied address marked in the program's map before any traffic flows.
fn preload(session: &Session, (map, addresses): Deny<'_>) -> Result<()> {
    if addresses.is_empty() {
        return Ok(());
    }
    let place = |e: lab::Error| lab::Error::Map(format!("[topology.ebpf] deny_map: {e}"));
    let opened = lab::maps::open(session.record(), map).map_err(place)?;
    for address in addresses {
        let key = Value::from_arg(&format!("ipv4:{address}")).map_err(lab::Error::Map)?;
        opened.mark(&key).map_err(place)?;
    }
    Ok(())
}

/// The eBPF project `[topology.ebpf] project` names, relative to the proxy-wasm project,
/// checked before anything is built; and root, which the lab needs.
pub fn ebpf_project(project: &Project, spec: &EbpfSpec) -> Result<Project> {
    let dir = project.root.join(&spec.project);
    let named = format!("[topology.ebpf] project = {:?}", spec.project.display().to_string());
    if !dir.join(crate::project::MANIFEST).is_file() {
        return Err(Error::Topology(format!(
            "{named}: {} holds no gw.toml; name an eBPF project's directory (`gw init -t xdp {}` makes one)",
            dir.display(),
            spec.project.display()
        ))
        .into());
    }
    // Canonical: builds are keyed by the project's path (its Docker target volume).
    let ebpf = Project::at(fs_err::canonicalize(&dir)?);
    if ebpf.kind()? != Kind::Ebpf {
        return Err(Error::Topology(format!("{named}: {} is not an eBPF project", ebpf.root.display())).into());
    }
    lab::require_root()?;
    Ok(ebpf)
}
