//! One Envoy child: its run directory, its output teed to log files, its
//! admin address, its end (exit code and debug bundle). Used alone by
//! `gw run <ref>` and several at once by a topology.

use fs_err::{self as fs, File};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{SystemTime, UNIX_EPOCH};

use super::admin::Admin;
use super::{Error, bundle};

const ADMIN_FLAG: &str = "--admin-address-path";

/// How to start one Envoy: its binary, its arguments, and where its output is echoed
/// (besides the log files in its run directory).
pub struct Launch {
    pub binary: PathBuf,
    pub args: Vec<OsString>,
    pub echo_stdout: Box<dyn Write + Send>,
    pub echo_stderr: Box<dyn Write + Send>,
}

pub struct Process {
    child: Child,
    pub run_dir: PathBuf,
    pub admin_file: PathBuf,
    logs: Vec<JoinHandle<()>>,
}

/// How a process ended.
pub struct Ended {
    /// Envoy's exit code, or 128 + the signal that ended it.
    pub code: i32,
    pub bundle: PathBuf,
}

impl Process {
    /// Starts Envoy with `run_dir` (which must exist) for its logs, adding
    /// `--admin-address-path` unless the arguments have it.
    pub fn start(launch: Launch, run_dir: PathBuf) -> Result<Process, Error> {
        let mut args = launch.args;
        let admin_file = match user_admin_path(&args) {
            Some(path) => path,
            None => {
                let path = run_dir.join("admin-address.txt");
                args.push(ADMIN_FLAG.into());
                args.push(path.clone().into());
                path
            }
        };
        let command_line = std::iter::once(launch.binary.as_os_str())
            .chain(args.iter().map(|a| a.as_os_str()))
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let command_file = run_dir.join("command.txt");
        fs::write(&command_file, command_line + "\n")?;

        let mut child = spawn(&launch.binary, &args)?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = vec![
            tee(stdout, launch.echo_stdout, &run_dir.join("stdout.log"))?,
            tee(stderr, launch.echo_stderr, &run_dir.join("stderr.log"))?,
        ];
        Ok(Process { child, run_dir, admin_file, logs })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The admin endpoint, once Envoy has written its address.
    pub fn admin(&self) -> Option<Admin> {
        Admin::from_address_file(&self.admin_file)
    }

    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        Ok(self.child.try_wait().map_err(crate::fsutil::at("envoy"))?)
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
    }

    /// Saves the admin pages into the run directory (for the bundle).
    pub fn snapshot_admin(&self) {
        if let Some(admin) = self.admin() {
            let _ = admin.snapshot(&self.run_dir.join("admin"));
        }
    }

    /// After the child has exited: its logs flushed, its bundle written.
    pub fn finish(mut self, status: ExitStatus) -> Result<Ended, Error> {
        for log in self.logs.drain(..) {
            let _ = log.join();
        }
        let code = exit_code(status);
        let bundle = bundle::write(&self.run_dir)?;
        Ok(Ended { code, bundle })
    }
}

/// A process's exit code, or 128 + the signal that ended it, as shells report it.
pub fn exit_code(status: ExitStatus) -> i32 {
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
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

/// Copies a child's output to the echo and to a log file as it comes.
fn tee<R: Read + Send + 'static>(
    mut from: R,
    mut echo: Box<dyn Write + Send>,
    log: &Path,
) -> Result<JoinHandle<()>, Error> {
    let mut file = File::create(log)?;
    Ok(thread::spawn(move || {
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
pub fn new_run_dir(runs: &Path) -> Result<PathBuf, Error> {
    fs::create_dir_all(runs)?;
    let mut millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    loop {
        let dir = runs.join(millis.to_string());
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => millis += 1,
            Err(e) => return Err(Error::Io(e)),
        }
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
