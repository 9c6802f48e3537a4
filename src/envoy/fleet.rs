//! Envoys supervised together: a topology's service Envoys then its front, or the
//! one Envoy of `gw run <ref>`. Started in order, watched in one loop (signals,
//! exits), stopped in reverse order (the front first, so no request reaches a
//! stopped service), each with its own run directory and debug bundle. A killed
//! gw takes them along (parent-death signal).

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

use super::Error;
use super::process::{Ended, Launch, Process, exit_code};
use crate::interrupt::Subscription;
use crate::report::{Event, Reporter};

const POLL: Duration = Duration::from_millis(20);

/// One Envoy of the fleet: its name in messages, how to start it, where it keeps its logs.
pub struct Member {
    pub name: String,
    pub launch: Launch,
    pub run_dir: PathBuf,
}

/// Why a fleet stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The user asked (SIGINT or SIGTERM, by number).
    Signal(i32),
    /// One Envoy exited by itself, and where its log is.
    Exited { name: String, code: i32, log: PathBuf },
}

/// How the Envoys are stopped.
#[derive(Debug, Clone, Copy)]
pub struct Stopping {
    /// Sent first, after each Envoy's admin pages are saved.
    pub signal: i32,
    /// How long each gets before SIGKILL; None: until a second signal comes.
    pub grace: Option<Duration>,
}

impl Stopping {
    /// A topology: SIGTERM, then SIGKILL after 5 s (or at a second signal).
    pub const TOPOLOGY: Stopping = Stopping { signal: SIGTERM, grace: Some(Duration::from_secs(5)) };
}

/// What a wait came to.
pub enum Waited<T> {
    Done(T),
    Stopped(Stop),
    TimedOut,
}

pub struct Fleet {
    members: Vec<(String, Process)>,
    signals: Subscription,
}

impl Fleet {
    /// Starts every member in order (their run directories are made if missing).
    pub fn start(members: Vec<Member>, reporter: &dyn Reporter) -> Result<Fleet, Error> {
        // Registered before any child exists, so an early Ctrl-C is not lost.
        let signals = Subscription::new().map_err(Error::Signals)?;
        let mut fleet = Fleet { members: Vec::new(), signals };
        for Member { name, launch, run_dir } in members {
            fs_err::create_dir_all(&run_dir)?;
            // On an error the fleet is dropped, which kills what already started.
            let process = Process::start(launch, run_dir.clone())?;
            reporter.event(Event::EnvoyStarted { name: name.clone(), pid: process.pid(), run_dir });
            fleet.members.push((name, process));
        }
        Ok(fleet)
    }

    fn member(&self, name: &str) -> Option<&Process> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    /// A member's admin endpoint (once it wrote its address), by name.
    pub fn admin(&self, name: &str) -> Option<super::Admin> {
        self.member(name).and_then(Process::admin)
    }

    /// Where the member called `name` logs its stderr.
    pub fn log(&self, name: &str) -> Option<PathBuf> {
        self.member(name).map(|p| p.run_dir.join("stderr.log"))
    }

    /// Saves a member's admin pages into its run directory (for its bundle).
    pub fn snapshot(&self, name: &str) {
        if let Some(process) = self.member(name) {
            process.snapshot_admin();
        }
    }

    pub fn pids(&self) -> Vec<(String, u32)> {
        self.members.iter().map(|(name, p)| (name.clone(), p.pid())).collect()
    }

    /// Until every admin endpoint answers `/ready` (each reported, and its pages saved, as it
    /// does), a reason to stop, or `timeout`.
    pub fn wait_ready(&mut self, timeout: Duration, reporter: &dyn Reporter) -> Result<Option<Stop>, Error> {
        let names: Vec<String> = self.members.iter().map(|(n, _)| n.clone()).collect();
        let mut ready = vec![false; names.len()];
        let mut probe = |fleet: &Fleet| {
            for (i, name) in names.iter().enumerate() {
                if !ready[i]
                    && let Some(admin) = fleet.admin(name)
                    && admin.is_ready()
                {
                    ready[i] = true;
                    reporter.event(Event::EnvoyReady { name: name.clone(), admin: admin.address().to_string() });
                    fleet.snapshot(name);
                }
            }
            ready.iter().all(|r| *r).then_some(())
        };
        match self.wait_for(Some(timeout), &mut probe)? {
            Waited::Done(()) => Ok(None),
            Waited::Stopped(stop) => Ok(Some(stop)),
            Waited::TimedOut => {
                let waiting: Vec<String> =
                    names.iter().zip(&ready).filter(|(_, r)| !**r).map(|(n, _)| n.clone()).collect();
                Err(Error::NotReady { names: waiting.join(", "), seconds: timeout.as_secs() })
            }
        }
    }

    /// Polls `probe` every 40 ms until it answers, a reason to stop comes first, or
    /// `timeout` (None: none) passes.
    pub fn wait_for<T>(
        &mut self,
        timeout: Option<Duration>,
        probe: &mut dyn FnMut(&Fleet) -> Option<T>,
    ) -> Result<Waited<T>, Error> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(stop) = self.stop_reason()? {
                return Ok(Waited::Stopped(stop));
            }
            if let Some(answer) = probe(self) {
                return Ok(Waited::Done(answer));
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Ok(Waited::TimedOut);
            }
            thread::sleep(POLL * 2);
        }
    }

    /// Runs until a reason to stop, calling `tick` between checks (for `--watch`, and to
    /// notice readiness without waiting for it).
    pub fn wait(&mut self, tick: &mut dyn FnMut(&Fleet)) -> Result<Stop, Error> {
        let mut never = |fleet: &Fleet| -> Option<()> {
            tick(fleet);
            None
        };
        match self.wait_for(None, &mut never)? {
            Waited::Stopped(stop) => Ok(stop),
            Waited::Done(()) | Waited::TimedOut => unreachable!("the probe never answers and there is no timeout"),
        }
    }

    fn stop_reason(&mut self) -> Result<Option<Stop>, Error> {
        if let Some(signal) = self.signals.pending() {
            return Ok(Some(Stop::Signal(signal)));
        }
        for (name, process) in &mut self.members {
            if let Some(status) = process.try_wait()? {
                let log = process.run_dir.join("stderr.log");
                return Ok(Some(Stop::Exited { name: name.clone(), code: exit_code(status), log }));
            }
        }
        Ok(None)
    }

    /// Stops every member, the last started first: admin pages saved, `how.signal`, then
    /// SIGKILL after the grace period or at a second signal.
    pub fn stop(mut self, how: Stopping, reporter: &dyn Reporter) -> Result<Vec<(String, Ended)>, Error> {
        let mut ended = Vec::new();
        let mut hurry = false;
        while let Some((name, mut process)) = self.members.pop() {
            let status = match process.try_wait()? {
                Some(status) => status,
                None => {
                    process.snapshot_admin();
                    process.signal(how.signal);
                    reporter.event(Event::Forwarded { name: name.clone(), signal: signal_name(how.signal).into() });
                    let deadline = how.grace.map(|grace| Instant::now() + grace);
                    let mut killed = false;
                    loop {
                        if let Some(status) = process.try_wait()? {
                            break status;
                        }
                        hurry |= self.signals.pending().is_some();
                        if !killed && (hurry || deadline.is_some_and(|d| Instant::now() > d)) {
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
    }
}

/// The name gw shows for a signal it forwards.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        libc::SIGKILL => "SIGKILL",
        _ => "a signal",
    }
}
