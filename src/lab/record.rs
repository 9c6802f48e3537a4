//! What a running lab leaves on disk so `gw lab` can find it and a later gw can
//! remove it: `$GW_HOME/labs/<id>.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// The gw that owns the lab, and when it started (a pid alone can be reused).
    pub pid: u32,
    pub started: u64,
    /// Client, gateway, server; none when the programs are on a host interface.
    pub namespaces: Vec<String>,
    /// The host interface the programs are on (`gw run --iface`), instead of a lab's namespaces.
    #[serde(default)]
    pub iface: Option<String>,
    #[serde(default)]
    pub cgroup: Option<PathBuf>,
    /// Where gw mounted cgroup2 for the lab, when the host had no cgroup2 mounted.
    #[serde(default)]
    pub mount: Option<PathBuf>,
    /// The object's maps by name, by kernel id.
    #[serde(default)]
    pub maps: BTreeMap<String, u32>,
    labs: PathBuf,
}

impl Record {
    pub fn new(id: &str, labs: &Path, iface: Option<&str>) -> Record {
        let pid = std::process::id();
        let namespaces = match iface {
            Some(_) => Vec::new(),
            None => ["client", "gateway", "server"].iter().map(|role| format!("gw-{id}-{role}")).collect(),
        };
        Record {
            id: id.to_string(),
            pid,
            started: start_time(pid).unwrap_or(0),
            namespaces,
            iface: iface.map(str::to_string),
            cgroup: None,
            mount: None,
            maps: BTreeMap::new(),
            labs: labs.to_path_buf(),
        }
    }

    /// The namespace of `role`; none for programs on a host interface.
    pub fn namespace(&self, role: super::Role) -> Option<&str> {
        self.namespaces.get(role as usize).map(String::as_str)
    }

    /// A directory of the lab's own (a cgroup2 mount point, when one is needed).
    pub fn dir(&self) -> PathBuf {
        self.labs.join(&self.id)
    }

    /// Whether the gw that made the lab still runs.
    pub fn alive(&self) -> bool {
        start_time(self.pid).is_some_and(|t| t == self.started)
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let error = |source| Error::Record { path: path.to_path_buf(), source };
        let text = serde_json::to_vec_pretty(self).map_err(|e| error(std::io::Error::other(e)))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(error)?;
        }
        crate::fsutil::write_atomically(path, &text, 0o644).map_err(error)
    }
}

pub fn path(labs: &Path, id: &str) -> PathBuf {
    labs.join(format!("{id}.json"))
}

/// Six hex digits: short enough for interface names (15 bytes: `gw<id>cp`).
pub fn new_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{:06x}", (nanos ^ std::process::id().rotate_left(12)) & 0xff_ffff)
}

/// Every record under `labs`, unreadable ones skipped.
pub fn all(labs: &Path) -> Result<Vec<(PathBuf, Record)>, Error> {
    let entries = match std::fs::read_dir(labs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Record { path: labs.to_path_buf(), source }),
    };
    let mut records = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json")
            && let Ok(text) = std::fs::read(&path)
            && let Ok(record) = serde_json::from_slice::<Record>(&text)
        {
            records.push((path, record));
        }
    }
    records.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    Ok(records)
}

/// A running process's start time in clock ticks since boot (field 22 of /proc/PID/stat);
/// `None` for a zombie (killed, not yet reaped), which holds nothing any more.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(fields.next()?, "Z" | "X") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_this_process_is_alive_and_one_of_a_reused_pid_is_not() {
        let labs = Path::new("/nonexistent");
        let mut record = Record::new("abc123", labs, None);
        assert!(record.alive());
        assert_eq!(record.namespace(crate::lab::Role::Gateway), Some("gw-abc123-gateway"));
        assert_eq!(Record::new("abc123", labs, Some("eth0")).namespace(crate::lab::Role::Client), None);
        record.started += 1;
        assert!(!record.alive(), "same pid, another start: another process");
        assert_eq!(new_id().len(), 6);
    }
}
