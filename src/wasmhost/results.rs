//! What a run returns: per file, per case, passed or failed with readable differences, and what
//! the host observed, for the CLI to print (this module prints nothing).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct FileReport {
    pub file: PathBuf,
    pub cases: Vec<CaseReport>,
    /// The whole file: VM start, every case, shutdown.
    pub duration: Duration,
}

impl FileReport {
    /// A report for a file that could not run at all (unreadable, bad YAML), so that it still
    /// shows up as one failed case in summaries and JUnit.
    pub fn from_error(file: PathBuf, error: &super::Error) -> FileReport {
        FileReport {
            file,
            cases: vec![CaseReport {
                name: "scenario file".into(),
                outcome: Verdict::Failed(vec![error.to_string()]),
                duration: Duration::ZERO,
                observed: Observed::default(),
                notes: Vec::new(),
            }],
            duration: Duration::ZERO,
        }
    }

    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.outcome.is_passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| matches!(c.outcome, Verdict::Failed(_))).count()
    }

    pub fn skipped(&self) -> usize {
        self.cases.iter().filter(|c| matches!(c.outcome, Verdict::Skipped(_))).count()
    }
}

#[derive(Debug, Clone)]
pub struct CaseReport {
    pub name: String,
    pub outcome: Verdict,
    pub duration: Duration,
    pub observed: Observed,
    /// What the case's verdict does not cover, e.g. expectations a real Envoy cannot show.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// One line per difference (`request_headers.x-user: expected "admin", got nothing`), or the
    /// fault that stopped the case (with its wasm backtrace).
    Failed(Vec<String>),
    /// Not run, for this reason (a case a real Envoy cannot run as the scenario says).
    Skipped(String),
}

impl Verdict {
    pub fn is_passed(&self) -> bool {
        matches!(self, Verdict::Passed)
    }
}

/// What the host saw during one case.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The stream callbacks, in order, with what they returned.
    pub callbacks: Vec<CallbackRecord>,
    /// Request headers, body and trailers as they went upstream (or stood when the request ended).
    pub request_headers: Vec<(String, String)>,
    pub request_body: Vec<u8>,
    pub request_trailers: Vec<(String, String)>,
    /// Whether the request reached the upstream.
    pub forwarded: bool,
    /// The response as it went downstream.
    pub response_headers: Vec<(String, String)>,
    pub response_body: Vec<u8>,
    pub response_trailers: Vec<(String, String)>,
    pub local_response: Option<LocalResponse>,
    /// The filter closed (reset) the stream or connection.
    pub closed: bool,
    /// For connections: what the upstream and the client received.
    pub upstream_data: Vec<u8>,
    pub downstream_data: Vec<u8>,
    pub http_calls: Vec<HttpCallRecord>,
    /// All metrics after the case (they accumulate over the file).
    pub metrics: BTreeMap<String, i64>,
    /// Log lines written during the case (including VM start, for the first case).
    pub logs: Vec<LogLine>,
    pub properties_set: BTreeMap<String, Vec<u8>>,
    pub shared_data: BTreeMap<String, Vec<u8>>,
    /// The fault that stopped the case, if one did.
    pub fault: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRecord {
    /// `request_headers`, `response_body`, `new_connection`, `downstream_data`, …
    pub name: &'static str,
    /// The raw action returned: 0 continue, 1 pause (other values pause too, as in Envoy).
    pub action: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    pub details: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    /// -1 when the filter sent none.
    pub grpc_status: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
    /// The context that wrote it (1 is the root context).
    pub context: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCallRecord {
    pub cluster: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    pub timeout_ms: u32,
    /// `:status` of the answer the scenario declared; `None` when it answered with a failure.
    pub answered_status: Option<String>,
    /// The scenario declared no answer for this call.
    pub unmatched: bool,
}

impl HttpCallRecord {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// proxy-wasm's `proxy_log_level_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl LogLevel {
    pub(crate) fn from_abi(level: i32) -> Option<LogLevel> {
        Some(match level {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }

    pub(crate) fn abi(self) -> u32 {
        self as u32
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
        }
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
