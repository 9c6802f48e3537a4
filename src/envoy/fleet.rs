//! Several Envoys run as one: a topology's service Envoys, then its front.
//! Started in order, ready together, stopped in reverse order (front first,
//! so no request reaches a stopped service), each with its own run directory
//! and debug bundle. A killed gw takes them along (parent-death signal).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::Error;
use super::process::{Ended, Process, Spec, exit_code};
use super::supervise::signal_name;
use crate::report::{Event, Reporter};

const POLL: Duration = Duration::from_millis(20);
/// How long a stopping Envoy gets before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

pub struct Member {
    pub name: String,
    pub binary: PathBuf,
    pub args: Vec<OsString>,
    pub echo_stdout: Box<dyn Write + Send>,
    pub echo_stderr: Box<dyn Write + Send>,
}

/// Why a fleet stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The user asked (SIGINT or SIGTERM).
    Signal(String),
    /// One Envoy exited by itself.
    Exited { name: String, code: i32 },
}

pub struct Fleet {
    members: Vec<(String, Process)>,
    signals: Signals,
}

impl Fleet {
    /// Starts every member in order, each in `run_dir/<name>`.
    pub fn start(run_dir: &std::path::Path, members: Vec<Member>, reporter: &dyn Reporter) -> Result<Fleet, Error> {
        // Registered before any child exists, so an early Ctrl-C is not lost.
        let signals = Signals::new([SIGINT, SIGTERM]).map_err(Error::Signals)?;
        let mut fleet = Fleet { members: Vec::new(), signals };
        for member in members {
            let dir = run_dir.join(&member.name);
            fs_err::create_dir_all(&dir)?;
            // On an error the fleet is dropped, which kills what already started.
            let process = Process::start(Spec {
                binary: member.binary,
                args: member.args,
                run_dir: dir.clone(),
                echo_stdout: member.echo_stdout,
                echo_stderr: member.echo_stderr,
            })?;
            reporter.event(Event::EnvoyStarted { name: member.name.clone(), pid: process.pid(), run_dir: dir });
            fleet.members.push((member.name, process));
        }
        Ok(fleet)
    }

    /// Each member's admin endpoint (once it wrote its address), by name.
    pub fn admin(&self, name: &str) -> Option<super::Admin> {
        self.members.iter().find(|(n, _)| n == name).and_then(|(_, p)| p.admin())
    }

    /// Where the member called `name` logs its stderr.
    pub fn log(&self, name: &str) -> Option<PathBuf> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, p)| p.run_dir.join("stderr.log"))
    }

    pub fn pids(&self) -> Vec<(String, u32)> {
        self.members.iter().map(|(name, p)| (name.clone(), p.pid())).collect()
    }

    /// Until every admin endpoint answers `/ready` (`Ok(None)`), or a reason to stop comes first.
    pub fn wait_ready(&mut self, timeout: Duration, reporter: &dyn Reporter) -> Result<Option<Stop>, Error> {
        let deadline = Instant::now() + timeout;
        let mut ready = vec![false; self.members.len()];
        loop {
            if let Some(stop) = self.stop_reason(reporter)? {
                return Ok(Some(stop));
            }
            for (i, (name, process)) in self.members.iter().enumerate() {
                if ready[i] {
                    continue;
                }
                if let Some(admin) = process.admin()
                    && admin.is_ready()
                {
                    ready[i] = true;
                    reporter.event(Event::EnvoyReady { name: name.clone(), admin: admin.address().to_string() });
                    process.snapshot_admin();
                }
            }
            if ready.iter().all(|r| *r) {
                return Ok(None);
            }
            if Instant::now() > deadline {
                let waiting = self.members.iter().zip(&ready).filter(|(_, r)| !**r).map(|((n, _), _)| n.clone());
                return Err(Error::NotReady {
                    names: waiting.collect::<Vec<_>>().join(", "),
                    seconds: timeout.as_secs(),
                });
            }
            thread::sleep(POLL / 2);
        }
    }

    /// Polls `probe` until it answers (`Ok(Ok(answer))`) or a reason to stop comes first
    /// (`Ok(Err(stop))`); after `timeout`, [`Error::NotServing`].
    pub fn wait_for<T>(
        &mut self,
        timeout: Duration,
        reporter: &dyn Reporter,
        probe: &mut dyn FnMut(&Fleet) -> Option<T>,
    ) -> Result<Result<T, Stop>, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(stop) = self.stop_reason(reporter)? {
                return Ok(Err(stop));
            }
            if let Some(answer) = probe(self) {
                return Ok(Ok(answer));
            }
            if Instant::now() > deadline {
                return Err(Error::NotServing { seconds: timeout.as_secs() });
            }
            thread::sleep(POLL * 2);
        }
    }

    /// Runs until a reason to stop, calling `tick` between checks (for `--watch`).
    pub fn wait(&mut self, tick: &mut dyn FnMut(&Fleet), reporter: &dyn Reporter) -> Result<Stop, Error> {
        loop {
            if let Some(stop) = self.stop_reason(reporter)? {
                return Ok(stop);
            }
            tick(self);
            thread::sleep(POLL * 5);
        }
    }

    fn stop_reason(&mut self, reporter: &dyn Reporter) -> Result<Option<Stop>, Error> {
        if let Some(signal) = self.signals.pending().next() {
            return Ok(Some(Stop::Signal(signal_name(signal).to_string())));
        }
        for (name, process) in &mut self.members {
            if let Some(status) = process.try_wait()? {
                let code = exit_code(status);
                let log = process.run_dir.join("stderr.log");
                reporter.event(Event::EnvoyExited { name: name.clone(), code, log });
                return Ok(Some(Stop::Exited { name: name.clone(), code }));
            }
        }
        Ok(None)
    }

    /// Stops every member, the last started first: admin pages saved, SIGTERM,
    /// then SIGKILL after a grace period or on a second signal.
    pub fn stop(mut self, reporter: &dyn Reporter) -> Result<Vec<(String, Ended)>, Error> {
        let mut ended = Vec::new();
        let mut hurry = false;
        while let Some((name, mut process)) = self.members.pop() {
            let status = match process.try_wait()? {
                Some(status) => status,
                None => {
                    process.snapshot_admin();
                    process.signal(libc::SIGTERM);
                    reporter.event(Event::Forwarded { name: name.clone(), signal: "SIGTERM".into() });
                    let deadline = Instant::now() + GRACE;
                    let mut killed = false;
                    loop {
                        if let Some(status) = process.try_wait()? {
                            break status;
                        }
                        hurry |= self.signals.pending().next().is_some();
                        if !killed && (hurry || Instant::now() > deadline) {
                            process.signal(libc::SIGKILL);
                            reporter.event(Event::Forwarded { name: name.clone(), signal: "SIGKILL".into() });
                            (hurry, killed) = (true, true);
                        }
                        thread::sleep(POLL);
                    }
                }
            };
            let end = process.finish(status)?;
            reporter.event(Event::Bundle { path: end.bundle.clone() });
            ended.push((name, end));
        }
        Ok(ended)
    }
}

impl Drop for Fleet {
    /// A fleet dropped without `stop` (an error on the way) leaves nothing running.
    fn drop(&mut self) {
        for (_, process) in &mut self.members {
            process.signal(libc::SIGKILL);
            let _ = process.try_wait();
        }
        self.signals.handle().close();
    }
}
