//! Commands run inside the lab: `gw lab exec`, and the traffic `gw run` sends
//! on request. The child enters the namespace (and the lab's cgroup, if any)
//! between fork and exec, so what it sends goes through the lab's network and
//! past the programs attached there.

use std::ffi::{CString, OsStr};
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::{Error, Record, Role, netns};

/// `program args…`, set to run inside `role`'s namespace of the lab.
pub fn command(record: &Record, role: Role, program: &OsStr) -> Result<Command, Error> {
    let name = record
        .namespace(role)
        .ok_or_else(|| Error::OnHost { id: record.id.clone(), iface: record.iface.clone().unwrap_or_default() })?;
    let namespace = netns::open(name)?;
    let cgroup_procs = match &record.cgroup {
        Some(path) => Some(
            CString::new(path.join("cgroup.procs").into_os_string().into_encoded_bytes())
                .map_err(|_| Error::Cgroup { path: path.clone(), source: std::io::ErrorKind::InvalidInput.into() })?,
        ),
        None => None,
    };
    let mut command = Command::new(program);
    // SAFETY: between fork and exec the closure makes only async-signal-safe calls (setns,
    // open, write, close) on values prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            netns::enter(&namespace)?;
            if let Some(procs) = &cgroup_procs {
                // "0" moves the writing process itself.
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 || libc::write(fd, c"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(fd);
            }
            Ok(())
        });
    }
    Ok(command)
}
