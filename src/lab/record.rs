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
    /// Client, gateway, server.
    pub namespaces: [String; 3],
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
    pub fn new(id: &str, labs: &Path) -> Record {
        let pid = std::process::id();
        Record {
            id: id.to_string(),
            pid,
            started: start_time(pid).unwrap_or(0),
            namespaces: ["client", "gateway", "server"].map(|role| format!("gw-{id}-{role}")),
            cgroup: None,
            mount: None,
            maps: BTreeMap::new(),
            labs: labs.to_path_buf(),
        }
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
        let mut record = Record::new("abc123", labs);
        assert!(record.alive());
        assert_eq!(record.namespaces[1], "gw-abc123-gateway");
        record.started += 1;
        assert!(!record.alive(), "same pid, another start: another process");
        assert_eq!(new_id().len(), 6);
    }
}
