//! A cgroup (v2) of the lab's own, for cgroup programs: the processes `gw lab
//! exec` starts join it, so its programs see their traffic. Made under the
//! host's cgroup2 mount, or under a cgroup2 mount gw makes for the lab on a
//! host that mounts only cgroup v1.

use std::ffi::CString;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::Error;

/// A new cgroup for lab `id`: its path, and gw's cgroup2 mount under `lab_dir` when the host
/// had none.
pub fn create(lab_dir: &Path, id: &str) -> Result<(PathBuf, Option<PathBuf>), Error> {
    let (root, mount) = match host_cgroup2() {
        Some(root) => (root, None),
        None => {
            let at = lab_dir.join("cgroup2");
            mount_cgroup2(&at)?;
            (at.clone(), Some(at))
        }
    };
    let path = root.join(format!("gw-lab-{id}"));
    std::fs::create_dir(&path).map_err(|source| Error::Cgroup { path: path.clone(), source })?;
    Ok((path, mount))
}

/// The cgroup's directory, opened as programs are attached to it.
pub fn open(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|source| Error::Cgroup { path: path.to_path_buf(), source })
}

/// Stops the processes left in it, removes it, and unmounts gw's cgroup2 mount.
pub fn remove(path: &Path, mount: Option<&Path>) -> Result<(), Error> {
    if let Ok(procs) = std::fs::read_to_string(path.join("cgroup.procs")) {
        for pid in procs.split_whitespace().filter_map(|p| p.parse::<libc::pid_t>().ok()) {
            // SAFETY: kill(2) with a pid the kernel listed in the lab's cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    // A killed process leaves the cgroup a moment after the signal.
    let mut result = Ok(());
    for _ in 0..50 {
        result = match std::fs::remove_dir(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
        if result.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    result.map_err(|source| Error::Cgroup { path: path.to_path_buf(), source })?;
    if let Some(mount) = mount {
        let target = CString::new(mount.as_os_str().as_encoded_bytes()).map_err(|_| Error::Cgroup {
            path: mount.to_path_buf(),
            source: std::io::ErrorKind::InvalidInput.into(),
        })?;
        // SAFETY: umount2 with a NUL-terminated path.
        if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } != 0 {
            let source = std::io::Error::last_os_error();
            if source.raw_os_error() != Some(libc::EINVAL) {
                return Err(Error::Cgroup { path: mount.to_path_buf(), source });
            }
        }
    }
    Ok(())
}

/// The host's cgroup2 mount point, if it has one (/sys/fs/cgroup on a unified host,
/// /sys/fs/cgroup/unified on a hybrid one).
fn host_cgroup2() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let point = before.split_whitespace().nth(4)?;
        (after.split_whitespace().next()? == "cgroup2").then(|| PathBuf::from(point))
    })
}

fn mount_cgroup2(at: &Path) -> Result<(), Error> {
    let error = |source| Error::Cgroup { path: at.to_path_buf(), source };
    std::fs::create_dir_all(at).map_err(error)?;
    let target =
        CString::new(at.as_os_str().as_encoded_bytes()).map_err(|_| error(std::io::ErrorKind::InvalidInput.into()))?;
    // SAFETY: mount(2) with NUL-terminated strings that outlive the call and no data.
    let done = unsafe { libc::mount(c"none".as_ptr(), target.as_ptr(), c"cgroup2".as_ptr(), 0, std::ptr::null()) };
    if done == 0 { Ok(()) } else { Err(error(std::io::Error::last_os_error())) }
}
