//! Reading back what Envoy did in a case: the filter's log lines from Envoy's log, its metrics
//! from the admin's stats, and the response code details from the access log.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::wasmhost::{LogLevel, LogLine};

/// The prefix Envoy puts before a wasm plugin's own metrics.
const CUSTOM: &str = "wasmcustom.";

/// The text of `log` from byte `from` on (at most 16 MiB).
pub fn tail(log: &Path, from: u64) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = fs_err::File::open(log)
        && file.seek(SeekFrom::Start(from)).is_ok()
    {
        let _ = file.take(16 << 20).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The plugin's lines among Envoy's: `[…][info][wasm] [source/…] wasm log <name>: <message>`.
/// A message with line breaks continues on lines that do not start with `[`.
pub fn wasm_logs(text: &str) -> Vec<LogLine> {
    let mut out: Vec<LogLine> = Vec::new();
    let mut continuing = false;
    for line in text.lines() {
        if !line.starts_with('[') {
            if continuing && let Some(last) = out.last_mut() {
                last.message.push('\n');
                last.message.push_str(line);
            }
            continue;
        }
        continuing = false;
        let Some((_, message)) = line.split_once("] wasm log") else { continue };
        let Some(level) = level_of(line) else { continue };
        // `wasm log <name> <root_id> <vm_id>: message`; the ids are left out when empty.
        let message = message.split_once(": ").map(|(_, m)| m).unwrap_or(message.trim_start());
        out.push(LogLine { level, message: message.to_string(), context: 0 });
        continuing = true;
    }
    out
}

fn level_of(line: &str) -> Option<LogLevel> {
    let tags = line.split('[').filter_map(|t| t.split_once(']').map(|(tag, _)| tag));
    tags.take(4).find_map(|tag| {
        Some(match tag {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warning" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "critical" => LogLevel::Critical,
            _ => return None,
        })
    })
}

/// The plugin's metrics under the names it gave them.
pub fn custom_metrics(stats: BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    stats.into_iter().filter_map(|(name, value)| Some((name.strip_prefix(CUSTOM)?.to_string(), value))).collect()
}

/// Envoy's `--component-log-level` value for the plugin's level (the host's default is trace).
pub fn wasm_log_level(level: Option<LogLevel>) -> &'static str {
    match level.unwrap_or(LogLevel::Trace) {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warning",
        LogLevel::Error => "error",
        LogLevel::Critical => "critical",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_lines_keep_their_level_and_message() {
        let text = "[2026-12-04 16:48:51.358][31236][info][main] [source/server/server.cc:467] starting\n\
            [2026-12-04 16:48:51.571][31237][warning][wasm] [source/extensions/common/wasm/context.cc:1157] wasm log basic: denied: no credentials\n\
            [2026-12-04 16:48:51.572][31237][info][wasm] [source/extensions/common/wasm/context.cc:1157] wasm log f root vm: {\"a\":\n1}\n";
        let lines = wasm_logs(text);
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].level, lines[0].message.as_str()), (LogLevel::Warn, "denied: no credentials"));
        assert_eq!(lines[1].message, "{\"a\":\n1}");
    }

    #[test]
    fn custom_metrics_lose_their_prefix_and_the_rest_go() {
        let stats = BTreeMap::from([("wasmcustom.denied".to_string(), 2), ("server.live".to_string(), 1)]);
        assert_eq!(custom_metrics(stats), BTreeMap::from([("denied".to_string(), 2)]));
    }
}
