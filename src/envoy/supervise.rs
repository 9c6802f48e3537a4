//! `gw run <ref>`: one Envoy as a supervised child, the fleet of one. Its
//! readiness reported when it comes (a config without admin never is), signals
//! forwarded as they came (after saving the admin pages; a second one as
//! SIGKILL), a debug bundle on exit, its exit code kept.

use std::path::PathBuf;

use super::Error;
use super::fleet::{Fleet, Member, Stop, Stopping};
use super::process::{Launch, new_run_dir};
use crate::report::{Event, Reporter};

const NAME: &str = "envoy";

pub struct RunRequest {
    pub launch: Launch,
    /// `$GW_HOME/runs`: each run gets a directory (and a bundle) inside.
    pub runs_dir: PathBuf,
}

pub struct RunOutcome {
    /// Envoy's exit code, or 128 + the signal that ended it.
    pub code: i32,
    pub run_dir: PathBuf,
    pub bundle: PathBuf,
}

pub fn run(request: RunRequest, reporter: &dyn Reporter) -> Result<RunOutcome, Error> {
    let run_dir = new_run_dir(&request.runs_dir)?;
    let member = Member { name: NAME.into(), launch: request.launch, run_dir: run_dir.clone() };
    let mut fleet = Fleet::start(vec![member], reporter)?;
    let mut ready = false;
    // The first snapshot at readiness: the bundle has the admin pages even if Envoy later dies.
    let mut notice_readiness = |fleet: &Fleet| {
        if !ready
            && let Some(admin) = fleet.admin(NAME)
            && admin.is_ready()
        {
            ready = true;
            reporter.event(Event::EnvoyReady { name: NAME.into(), admin: admin.address().to_string() });
            fleet.snapshot(NAME);
        }
    };
    let stop = fleet.wait(&mut notice_readiness)?;
    // The signal the user sent goes on as it is; Envoy is not hurried unless they ask twice.
    let signal = match stop {
        Stop::Signal(signal) => signal,
        Stop::Exited { .. } => libc::SIGTERM,
    };
    let mut ended = fleet.stop(Stopping { signal, grace: None }, reporter)?;
    let (_, end) = ended.pop().expect("the fleet had one member");
    Ok(RunOutcome { code: end.code, run_dir, bundle: end.bundle })
}
