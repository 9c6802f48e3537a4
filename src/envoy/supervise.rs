//! `gw run <ref>`: one Envoy as a supervised child. Readiness awaited on the
//! admin endpoint, signals forwarded (after saving the admin pages), a debug
//! bundle on exit, its exit code kept.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::Error;
use super::process::{self, Process, Spec};
use crate::report::{Event, Reporter};

const POLL: Duration = Duration::from_millis(20);
const NAME: &str = "envoy";

pub struct RunRequest {
    pub binary: PathBuf,
    pub args: Vec<OsString>,
    /// `$GW_HOME/runs`: each run gets a directory (and a bundle) inside.
    pub runs_dir: PathBuf,
    /// Where Envoy's stdout and stderr are echoed besides the log files.
    pub echo_stdout: Box<dyn Write + Send>,
    pub echo_stderr: Box<dyn Write + Send>,
}

pub struct RunOutcome {
    /// Envoy's exit code, or 128 + the signal that ended it.
    pub code: i32,
    pub run_dir: PathBuf,
    pub bundle: PathBuf,
}

pub fn run(request: RunRequest, reporter: &dyn Reporter) -> Result<RunOutcome, Error> {
    let run_dir = process::new_run_dir(&request.runs_dir)?;
    // Registered before the child exists, so an early Ctrl-C is not lost.
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(Error::Signals)?;
    let mut envoy = Process::start(Spec {
        binary: request.binary,
        args: request.args,
        run_dir: run_dir.clone(),
        echo_stdout: request.echo_stdout,
        echo_stderr: request.echo_stderr,
    })?;
    reporter.event(Event::EnvoyStarted { name: NAME.into(), pid: envoy.pid(), run_dir: run_dir.clone() });

    let exited = AtomicBool::new(false);
    let admin_file = envoy.admin_file.clone();
    let status = thread::scope(|scope| {
        scope.spawn(|| await_ready(&admin_file, &run_dir, &exited, reporter));
        let status = supervise(&mut envoy, &mut signals, reporter);
        exited.store(true, Ordering::SeqCst);
        status
    })?;
    signals.handle().close();

    let ended = envoy.finish(status)?;
    reporter.event(Event::Bundle { path: ended.bundle.clone() });
    Ok(RunOutcome { code: ended.code, run_dir, bundle: ended.bundle })
}

/// Waits for the child, forwarding signals: the first one after saving the
/// admin pages, a second one as SIGKILL for an Envoy that does not stop.
fn supervise(
    envoy: &mut Process,
    signals: &mut Signals,
    reporter: &dyn Reporter,
) -> Result<std::process::ExitStatus, Error> {
    let mut forwarded = false;
    loop {
        if let Some(status) = envoy.try_wait()? {
            return Ok(status);
        }
        for signal in signals.pending() {
            let (send, name) = if forwarded { (libc::SIGKILL, "SIGKILL") } else { (signal, signal_name(signal)) };
            if !forwarded {
                envoy.snapshot_admin();
            }
            envoy.signal(send);
            forwarded = true;
            reporter.event(Event::Forwarded { name: NAME.into(), signal: name.to_string() });
        }
        thread::sleep(POLL);
    }
}

/// Reports readiness once `/ready` answers, and saves a first snapshot of the
/// admin pages so the bundle has them even if Envoy later dies on its own.
fn await_ready(admin_file: &Path, run_dir: &Path, exited: &AtomicBool, reporter: &dyn Reporter) {
    while !exited.load(Ordering::SeqCst) {
        if let Some(admin) = super::Admin::from_address_file(admin_file)
            && admin.is_ready()
        {
            reporter.event(Event::EnvoyReady { name: NAME.into(), admin: admin.address().to_string() });
            let _ = admin.snapshot(&run_dir.join("admin"));
            return;
        }
        thread::sleep(POLL * 5);
    }
}

pub(super) fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
