//! Network namespaces and links, through iproute2's `ip` (present wherever
//! network namespaces are used), and threads that enter a namespace: a socket
//! belongs to the namespace of the thread that opened it, so a listener or an
//! attach made there stays there.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;

use super::Error;

/// Where `ip netns add` keeps a namespace (a bind mount that outlives its processes).
pub fn path(name: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(name)
}

pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// Runs `ip ARGS`; its stderr becomes the error.
pub fn ip(args: &[&str]) -> Result<(), Error> {
    let output = Command::new("ip").args(args).output().map_err(|source| Error::Tool { tool: "ip", source })?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Ip {
        command: format!("ip {}", args.join(" ")),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

/// `ip -V`'s line (`ip utility, iproute2-6.1.0, …`), if iproute2 is installed.
pub fn ip_version() -> Option<String> {
    let output = Command::new("ip").arg("-V").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    output.status.success().then(|| text.trim().split(", ").nth(1).unwrap_or(text.trim()).to_string())
}

/// Deletes the namespace if it exists; the links inside go with it.
pub fn delete(name: &str) -> Result<(), Error> {
    if exists(name) { ip(&["netns", "del", name]) } else { Ok(()) }
}

/// Moves the calling thread into the namespace. Only for a thread of its own (see [`within`])
/// or a child between fork and exec.
pub fn enter(namespace: &File) -> std::io::Result<()> {
    // SAFETY: setns on an open namespace file; it changes only the calling thread.
    if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub fn open(name: &str) -> Result<File, Error> {
    File::open(path(name)).map_err(|source| Error::Namespace { name: name.to_string(), source })
}

/// Runs `work` on a thread inside the namespace and waits for it.
pub fn within<T: Send>(name: &str, work: impl FnOnce() -> T + Send) -> Result<T, Error> {
    let namespace = open(name)?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                enter(&namespace).map_err(|source| Error::Namespace { name: name.to_string(), source })?;
                Ok(work())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Stops every process inside the namespace (what `gw lab exec` started), so that deleting
/// it leaves no namespace alive through them.
pub fn kill_inside(name: &str) {
    let Ok(output) = Command::new("ip").args(["netns", "pids", name]).output() else { return };
    let own = std::process::id();
    for pid in String::from_utf8_lossy(&output.stdout).split_whitespace().filter_map(|p| p.parse::<u32>().ok()) {
        if pid != own {
            // SAFETY: kill(2) with a pid the kernel just listed; a pid gone since is ESRCH.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}

/// The calling thread moved into a namespace until this is dropped. What the thread starts
/// meanwhile (threads, processes) starts there too and stays.
pub struct Inside {
    home: File,
}

impl Inside {
    pub fn enter(name: &str) -> Result<Inside, Error> {
        let failed = |source| Error::Namespace { name: name.to_string(), source };
        let home = File::open("/proc/thread-self/ns/net").map_err(failed)?;
        enter(&open(name)?).map_err(failed)?;
        Ok(Inside { home })
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        let _ = enter(&self.home);
    }
}
