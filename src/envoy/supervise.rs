//! Runs Envoy as a supervised child: its own run directory, output teed to
//! log files, readiness awaited on the admin endpoint, signals forwarded
//! (after saving the admin pages), a debug bundle on exit, its exit code kept.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::admin::Admin;
use super::{Error, bundle};
use crate::report::{Event, Reporter};

const POLL: Duration = Duration::from_millis(20);
const ADMIN_FLAG: &str = "--admin-address-path";

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
    let run_dir = new_run_dir(&request.runs_dir)?;
    let mut args = request.args;
    let admin_file = match user_admin_path(&args) {
        Some(path) => path,
        None => {
            let path = run_dir.join("admin-address.txt");
            args.push(ADMIN_FLAG.into());
            args.push(path.clone().into());
            path
        }
    };
    let command_line = std::iter::once(request.binary.as_os_str())
        .chain(args.iter().map(|a| a.as_os_str()))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let command_file = run_dir.join("command.txt");
    fs::write(&command_file, command_line + "\n").map_err(Error::io(&command_file))?;

    // Registered before the child exists, so an early Ctrl-C is not lost.
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(Error::Signals)?;
    let mut child = spawn(&request.binary, &args)?;
    reporter.event(Event::EnvoyStarted { pid: child.id(), run_dir: run_dir.clone() });

    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let exited = AtomicBool::new(false);
    let admin_dir = run_dir.join("admin");
    let status = thread::scope(|scope| -> Result<_, Error> {
        let logs = [
            tee(scope, stdout, request.echo_stdout, &run_dir.join("stdout.log"))?,
            tee(scope, stderr, request.echo_stderr, &run_dir.join("stderr.log"))?,
        ];
        scope.spawn(|| await_ready(&admin_file, &admin_dir, &exited, reporter));
        let status = supervise(&mut child, &mut signals, &admin_file, &admin_dir, reporter);
        exited.store(true, Ordering::SeqCst);
        for log in logs {
            let _ = log.join();
        }
        status
    })?;
    signals.handle().close();

    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let bundle = bundle::write(&run_dir)?;
    reporter.event(Event::Bundle { path: bundle.clone() });
    Ok(RunOutcome { code, run_dir, bundle })
}

fn spawn(binary: &Path, args: &[OsString]) -> Result<Child, Error> {
    let mut command = Command::new(binary);
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Its own process group: a terminal's Ctrl-C reaches gw alone, which saves
    // the admin pages before passing the signal on.
    command.process_group(0);
    // If gw dies (even by SIGKILL), Envoy goes with it. Linux only; elsewhere
    // a killed gw can leave Envoy running.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().map_err(|source| Error::Spawn { binary: binary.to_path_buf(), source })
}

/// Waits for the child, forwarding signals: the first one after saving the
/// admin pages, a second one as SIGKILL for an Envoy that does not stop.
fn supervise(
    child: &mut Child,
    signals: &mut Signals,
    admin_file: &Path,
    admin_dir: &Path,
    reporter: &dyn Reporter,
) -> Result<std::process::ExitStatus, Error> {
    let pid = child.id() as libc::pid_t;
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait().map_err(Error::io("envoy"))? {
            return Ok(status);
        }
        for signal in signals.pending() {
            let (send, name) = if forwarded { (libc::SIGKILL, "SIGKILL") } else { (signal, signal_name(signal)) };
            if !forwarded && let Some(admin) = Admin::from_address_file(admin_file) {
                let _ = admin.snapshot(admin_dir);
            }
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid, send) };
            forwarded = true;
            reporter.event(Event::Forwarded { signal: name.to_string() });
        }
        thread::sleep(POLL);
    }
}

/// Reports readiness once `/ready` answers, and saves a first snapshot of the
/// admin pages so the bundle has them even if Envoy later dies on its own.
fn await_ready(admin_file: &Path, admin_dir: &Path, exited: &AtomicBool, reporter: &dyn Reporter) {
    while !exited.load(Ordering::SeqCst) {
        if let Some(admin) = Admin::from_address_file(admin_file)
            && admin.is_ready()
        {
            reporter.event(Event::EnvoyReady { admin: admin.address().to_string() });
            let _ = admin.snapshot(admin_dir);
            return;
        }
        thread::sleep(POLL * 5);
    }
}

/// Copies a child's output to the echo and to a log file, line by line as it comes.
fn tee<'scope, R: Read + Send + 'scope>(
    scope: &'scope thread::Scope<'scope, '_>,
    mut from: R,
    mut echo: Box<dyn Write + Send>,
    log: &Path,
) -> Result<thread::ScopedJoinHandle<'scope, ()>, Error> {
    let mut file = File::create(log).map_err(Error::io(log))?;
    Ok(scope.spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let _ = file.write_all(&buf[..n]);
            let _ = echo.write_all(&buf[..n]).and_then(|_| echo.flush());
        }
    }))
}

fn user_admin_path(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let arg = arg.to_string_lossy();
        if arg == ADMIN_FLAG {
            return iter.next().map(PathBuf::from);
        }
        if let Some(value) = arg.strip_prefix(ADMIN_FLAG).and_then(|rest| rest.strip_prefix('=')) {
            return Some(PathBuf::from(value));
        }
    }
    None
}

/// `runs/<unix-millis>`: sortable, and unique because creation fails on a clash.
fn new_run_dir(runs: &Path) -> Result<PathBuf, Error> {
    fs::create_dir_all(runs).map_err(Error::io(runs))?;
    let mut millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    loop {
        let dir = runs.join(millis.to_string());
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => millis += 1,
            Err(e) => return Err(Error::Io { path: dir, source: e }),
        }
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_users_admin_path() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(user_admin_path(&args(&["-c", "x", "--admin-address-path", "/a"])), Some("/a".into()));
        assert_eq!(user_admin_path(&args(&["--admin-address-path=/b"])), Some("/b".into()));
        assert_eq!(user_admin_path(&args(&["-c", "x"])), None);
    }
}
