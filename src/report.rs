//! How domain code tells the user what is happening without printing:
//! it sends [`Event`]s and drives [`Progress`] bars; the CLI decides how
//! (or whether) they appear.

use std::fmt;
use std::path::PathBuf;

/// Something worth telling the user while an operation runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// Another gw process is installing the same build; this one waits for it.
    WaitingForLock { build: String },
    /// A build is being downloaded.
    Downloading { build: String, url: String },
    /// A transient failure; the request is tried again after a pause.
    Retrying { url: String, attempt: u32, reason: String },
    /// The index could not be reached; a cached copy is used instead.
    OfflineIndex { url: String, cache: PathBuf, reason: String },
    /// A source of builds could not be reached; the next one (if any) is asked.
    SourceUnreachable { source: String, reason: String, next: Option<String> },
    /// The index could not be reached and no copy is cached; installed builds are used.
    OfflineInstalled { url: String, reason: String },
    /// Leftovers of an interrupted install were removed.
    CleanedStaging { path: PathBuf },
    /// A build was installed.
    Installed { build: String, path: PathBuf, sha256: String },
    /// A build was already installed; nothing was downloaded.
    AlreadyInstalled { build: String, path: PathBuf },
    /// A pin was added to the project's gw.lock.
    Locked { build: String, lock: PathBuf },
    /// An Envoy (`envoy`, or its name in a topology) started in a run directory.
    EnvoyStarted { name: String, pid: u32, run_dir: PathBuf },
    /// Envoy's admin endpoint answered /ready.
    EnvoyReady { name: String, admin: String },
    /// A signal was forwarded to Envoy.
    Forwarded { name: String, signal: String },
    /// A topology is up: every Envoy ready; where to send requests.
    TopologyReady { urls: Vec<String>, stats: Option<String> },
    /// An Envoy of a topology exited by itself; the others are stopped.
    EnvoyExited { name: String, code: i32, log: PathBuf },
    /// The filter was rebuilt and is being swapped into the running front Envoy.
    Reloaded { module: PathBuf },
    /// Envoy refused the listeners with the rebuilt filter; it keeps serving the previous ones.
    SwapRefused { envoy: String, reason: String, log: Vec<String> },
    /// A rebuild failed; the running filter stays.
    RebuildFailed { reason: String },
    /// A request an Envoy of a topology logged (`gw run --access-log`): its summary, or the
    /// line as Envoy wrote it when it is not gw's JSON.
    Request { envoy: String, line: String },
    /// The run's debug bundle was written.
    Bundle { path: PathBuf },
    /// Something went wrong that does not stop the operation.
    Warning(String),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::WaitingForLock { build } => write!(f, "waiting for another gw to finish installing {build}"),
            Event::Downloading { build, url } => write!(f, "downloading {build} from {url}"),
            Event::Retrying { url, attempt, reason } => write!(f, "retrying {url} (attempt {attempt}): {reason}"),
            Event::OfflineIndex { url, cache, reason } => {
                write!(f, "offline: could not reach {url} ({reason}); using the index cached at {}", cache.display())
            }
            Event::SourceUnreachable { source, reason, next } => match next {
                Some(next) => write!(f, "could not reach {source} ({reason}); trying {next}"),
                None => write!(f, "could not reach {source} ({reason})"),
            },
            Event::OfflineInstalled { url, reason } => {
                write!(f, "offline: could not reach {url} ({reason}); using installed builds only")
            }
            Event::CleanedStaging { path } => write!(f, "removed an interrupted install at {}", path.display()),
            Event::Installed { build, path, sha256 } => {
                write!(f, "installed {build} at {} (sha256 {sha256})", path.display())
            }
            Event::AlreadyInstalled { build, path } => write!(f, "{build} is installed at {}", path.display()),
            Event::Locked { build, lock } => write!(f, "pinned {build} in {}", lock.display()),
            Event::EnvoyStarted { name, pid, run_dir } => {
                write!(f, "{name} started (pid {pid}), run directory {}", run_dir.display())
            }
            Event::EnvoyReady { name, admin } => write!(f, "{name} is ready; admin at http://{admin}"),
            Event::Forwarded { name, signal } => write!(f, "forwarded {signal} to {name}"),
            Event::TopologyReady { urls, stats } => {
                write!(f, "ready; try:\n  {}", urls.join("\n  "))?;
                match stats {
                    Some(stats) => write!(f, "\nthe front's filter metrics: {stats}"),
                    None => Ok(()),
                }
            }
            Event::EnvoyExited { name, code, log } => {
                write!(f, "{name} exited by itself (code {code}); its log: {}", log.display())
            }
            Event::Request { envoy, line } => write!(f, "{envoy:>10} ▸ {line}"),
            Event::Reloaded { module } => write!(f, "rebuilt; the front now runs {}", module.display()),
            Event::SwapRefused { envoy, reason, log } => {
                write!(f, "Envoy '{envoy}' refused the rebuilt filter and keeps serving the previous one: {reason}")?;
                for line in log {
                    write!(f, "\n  {envoy:>9} | {line}")?;
                }
                Ok(())
            }
            Event::RebuildFailed { reason } => write!(f, "rebuild failed; still running the previous filter: {reason}"),
            Event::Bundle { path } => write!(f, "debug bundle written to {}", path.display()),
            Event::Warning(message) => write!(f, "warning: {message}"),
        }
    }
}

/// A byte counter for one transfer.
pub trait Progress {
    fn advance(&self, bytes: u64);
    fn finish(&self);
}

/// The sink for events and progress. Implementations live in `cli`.
pub trait Reporter: Sync {
    fn event(&self, event: Event);
    fn progress(&self, label: &str, total: Option<u64>) -> Box<dyn Progress>;
}

/// Reports nothing: for callers (and tests) that need no output.
pub struct Silent;

struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

impl Reporter for Silent {
    fn event(&self, _: Event) {}
    fn progress(&self, _: &str, _: Option<u64>) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }
}
