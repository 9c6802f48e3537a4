//! `gw run --access-log`: the requests each Envoy of a topology logs, read
//! from the ends of their access-log files as Envoy appends to them.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// One request as an Envoy logged it (fields of the JSON line gw configures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub method: String,
    pub path: String,
    pub protocol: String,
    pub status: String,
    /// Why Envoy answered as it did: `via_upstream`, `local_rate_limited`, …
    pub details: String,
    pub duration_ms: String,
    /// The upstream instance that answered, `-` when none did.
    pub upstream: String,
}

impl Entry {
    /// A line of the log; `None` when it is not the JSON object gw asked Envoy for.
    pub fn parse(line: &str) -> Option<Entry> {
        let json: serde_json::Value = serde_json::from_str(line).ok()?;
        let field = |name: &str| match &json.get(name)? {
            serde_json::Value::Null => Some("-".to_string()),
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        Some(Entry {
            method: field("method")?,
            path: field("path")?,
            protocol: field("protocol")?,
            status: field("status")?,
            details: field("details")?,
            duration_ms: field("duration_ms")?,
            upstream: field("upstream")?,
        })
    }
}

/// `GET /api HTTP/2 → 200 in 3 ms from 127.0.0.1:4000`, with Envoy's reason when it
/// answered by itself: `→ 429 local_rate_limited in 0 ms`.
impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Entry { method, path, protocol, status, details, duration_ms, upstream } = self;
        write!(f, "{method} {path} {protocol} → {status}")?;
        if details != "via_upstream" {
            write!(f, " {details}")?;
        }
        write!(f, " in {duration_ms} ms")?;
        if upstream != "-" {
            write!(f, " from {upstream}")?;
        }
        Ok(())
    }
}

/// Reads no more than this per file and poll: a flood of requests is shown a poll later
/// rather than all held in memory at once.
const MAX_READ: u64 = 1 << 20;

/// The access logs of a topology's Envoys, each followed from where the last poll stopped.
pub struct Tail {
    files: Vec<Followed>,
}

struct Followed {
    envoy: String,
    path: PathBuf,
    offset: u64,
    /// The start of a line Envoy has not finished writing.
    partial: Vec<u8>,
}

impl Tail {
    /// `run_dir/<envoy>/access.log` for each Envoy; files that do not exist yet are
    /// picked up once Envoy creates them.
    pub fn new(run_dir: &Path, envoys: &[String]) -> Tail {
        let files = envoys
            .iter()
            .map(|envoy| Followed {
                envoy: envoy.clone(),
                path: run_dir.join(envoy).join("access.log"),
                offset: 0,
                partial: Vec::new(),
            })
            .collect();
        Tail { files }
    }

    /// The whole lines written since the last poll, with the Envoy that wrote each; a line
    /// that is not gw's JSON comes back as `Err(line)`.
    pub fn poll(&mut self) -> Vec<(String, Result<Entry, String>)> {
        let mut lines = Vec::new();
        for file in &mut self.files {
            let Ok(mut reader) = std::fs::File::open(&file.path) else { continue };
            if reader.seek(SeekFrom::Start(file.offset)).is_err() {
                continue;
            }
            let mut bytes = Vec::new();
            let Ok(read) = reader.take(MAX_READ).read_to_end(&mut bytes) else { continue };
            file.offset += read as u64;
            file.partial.extend_from_slice(&bytes);
            let Some(end) = file.partial.iter().rposition(|b| *b == b'\n') else { continue };
            let whole: Vec<u8> = file.partial.drain(..=end).collect();
            for line in String::from_utf8_lossy(&whole).lines().filter(|l| !l.trim().is_empty()) {
                lines.push((file.envoy.clone(), Entry::parse(line).ok_or_else(|| line.to_string())));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LINE: &str = r#"{"method":"GET","path":"/api","protocol":"HTTP/2","status":429,"details":"local_rate_limited","duration_ms":0,"upstream":null,"flags":"RL"}"#;

    #[test]
    fn lines_are_read_once_and_only_when_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut tail = Tail::new(dir.path(), &["front".to_string()]);
        assert!(tail.poll().is_empty(), "no file yet");
        std::fs::create_dir(dir.path().join("front")).unwrap();
        let mut file = std::fs::File::create(dir.path().join("front/access.log")).unwrap();
        file.write_all(&LINE.as_bytes()[..20]).unwrap();
        assert!(tail.poll().is_empty(), "half a line");
        file.write_all(&LINE.as_bytes()[20..]).unwrap();
        file.write_all(b"\nnot json\n").unwrap();
        let lines = tail.poll();
        assert_eq!(lines.len(), 2);
        let (envoy, entry) = &lines[0];
        let entry = entry.as_ref().unwrap();
        assert_eq!(envoy, "front");
        assert_eq!(
            (entry.status.as_str(), entry.details.as_str(), entry.upstream.as_str()),
            ("429", "local_rate_limited", "-")
        );
        assert_eq!(entry.to_string(), "GET /api HTTP/2 → 429 local_rate_limited in 0 ms");
        assert_eq!(lines[1].1, Err("not json".to_string()));
        assert!(tail.poll().is_empty(), "nothing new");
    }
}
