//! Reading back what an Envoy logged, to show why it refused something: the
//! lines of its wasm plugins and its own `rejected` lines, shortened.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How many lines an excerpt keeps (the last ones).
const LINES: usize = 12;

/// The size of a log now: an excerpt taken later from this offset shows only what came after.
pub fn offset(log: &Path) -> u64 {
    fs_err::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// The lines logged after `from` by wasm plugins (`[wasm]`) or about a rejected update,
/// without their timestamp, thread and source location.
pub fn excerpt(log: &Path, from: u64) -> Vec<String> {
    let mut text = String::new();
    if let Ok(mut file) = fs_err::File::open(log)
        && file.seek(SeekFrom::Start(from)).is_ok()
    {
        let _ = file.take(4 << 20).read_to_string(&mut text);
    }
    let lines: Vec<String> =
        text.lines().filter(|line| line.contains("][wasm]") || line.contains("rejected")).map(shorten).collect();
    lines[lines.len().saturating_sub(LINES)..].to_vec()
}

/// `[2026-12-04 16:48:51.571][31236][error][wasm] [source/…/context.cc:1157] wasm log jwt: …`
/// → `[error][wasm] wasm log jwt: …`
fn shorten(line: &str) -> String {
    let mut rest = line;
    let mut tags = Vec::new();
    while let Some(inner) = rest.strip_prefix('[') {
        let Some((tag, after)) = inner.split_once(']') else { break };
        rest = after.trim_start();
        if tag.starts_with("source/") || tag.contains(".cc:") {
            break;
        }
        // The timestamp and the thread id say nothing here.
        if !(tag.chars().next().is_some_and(|c| c.is_ascii_digit())) {
            tags.push(format!("[{tag}]"));
        }
    }
    format!("{} {rest}", tags.join("")).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn keeps_the_plugins_lines_and_the_rejection() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr.log");
        fs_err::write(
            &log,
            "[2026-12-04 16:48:51.358][31236][info][main] [source/server/server.cc:467] starting\n\
             [2026-12-04 16:48:51.571][31236][error][wasm] [source/extensions/common/wasm/context.cc:1157] wasm log jwt: jwt: bad plugin configuration: secret must be at least 32 bytes\n\
             [2026-12-04 16:48:51.573][31236][warning][upstream] [source/common/listener_manager/lds_api.cc:89] lds: listener 'front' config rejected: Unable to create Wasm plugin jwt\n",
        )
        .unwrap();
        assert_eq!(
            excerpt(&log, 0),
            [
                "[error][wasm] wasm log jwt: jwt: bad plugin configuration: secret must be at least 32 bytes",
                "[warning][upstream] lds: listener 'front' config rejected: Unable to create Wasm plugin jwt",
            ]
        );
        let end = offset(&log);
        fs_err::OpenOptions::new().append(true).open(&log).unwrap().write_all(b"[x][info][wasm] later\n").unwrap();
        assert_eq!(excerpt(&log, end), ["[x][info][wasm] later"]);
    }
}
