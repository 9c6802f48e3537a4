//! Envoy's own judgement of a config: `envoy --mode validate -c FILE`, which reads the
//! config as Envoy would serve it (extensions, references between resources, files it names)
//! without opening a port.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::Error;

/// How long one validation may take; Envoy takes well under a second.
const LIMIT: Duration = Duration::from_secs(60);

/// What Envoy said of a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Envoy's reason, without its log prefix and the JSON dump of the config it appends.
    Refused(String),
}

/// Runs `binary --mode validate` on `file`.
pub fn validate_mode(binary: &Path, file: &Path) -> Result<Verdict, Error> {
    let output = tempfile::tempfile().map_err(crate::fsutil::at(std::env::temp_dir()))?;
    let mut child = Command::new(binary)
        .args(["--mode", "validate", "--disable-hot-restart", "--log-level", "critical", "-c"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(output.try_clone()?)
        .spawn()
        .map_err(|source| Error::Spawn { binary: binary.to_path_buf(), source })?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::ValidateHung { file: file.to_path_buf(), seconds: LIMIT.as_secs() });
        }
        thread::sleep(Duration::from_millis(10));
    };
    if status.success() {
        return Ok(Verdict::Accepted);
    }
    let mut output = output;
    let mut text = String::new();
    output.seek(SeekFrom::Start(0))?;
    // Envoy's log is UTF-8; a stray byte must not hide the reason.
    let mut bytes = Vec::new();
    output.read_to_end(&mut bytes)?;
    text.push_str(&String::from_utf8_lossy(&bytes));
    Ok(Verdict::Refused(reason(&text, file, status.code())))
}

/// The reason in Envoy's critical line: `... error initializing configuration '<file>': <reason>`.
/// For a config that breaks a rule, Envoy first prints the offending message as protobuf text
/// over many lines, then `: <reason>` on a line of its own; the reason is what is kept.
fn reason(stderr: &str, file: &Path, code: Option<i32>) -> String {
    let marker = format!("error initializing configuration '{}': ", file.display());
    let after = stderr.split_once(&marker).map(|(_, rest)| rest);
    let line = match after {
        Some(rest) => match rest.rsplit_once("\n: ") {
            Some((_, reason)) => reason.lines().next().map(str::to_string),
            None => rest.lines().next().map(str::to_string),
        },
        None => stderr.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_string),
    };
    let Some(mut reason) = line else {
        return format!("envoy exited with {} and said nothing", code.map_or("a signal".into(), |c| c.to_string()));
    };
    // "Unable to parse JSON as proto (...): {the whole config}": the config is the user's own file.
    if let Some(at) = reason.find("): {")
        && reason.ends_with('}')
    {
        reason.truncate(at + 1);
    }
    // Envoy's protobuf messages pad with runs of spaces.
    reason.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_taken_from_envoys_critical_line() {
        let file = Path::new("a.yaml");
        let line = "[2026-12-04][1][critical][main] [server.cc:76] error initializing configuration 'a.yaml': \
                    Unable to parse JSON as proto (INVALID_ARGUMENT: bad): {\"admin\":{}}";
        assert_eq!(reason(line, file, Some(1)), "Unable to parse JSON as proto (INVALID_ARGUMENT: bad)");
        assert_eq!(reason("x\nlast words\n\n", file, Some(1)), "last words");
        let dump = "[x][critical][main] error initializing configuration 'a.yaml': route_config {\n  name: \"r\"\n}\n\
                    : Proto constraint validation failed (StatPrefix: too short)\n";
        assert_eq!(reason(dump, file, Some(1)), "Proto constraint validation failed (StatPrefix: too short)");
        assert!(reason("", file, None).contains("said nothing"));
    }
}
