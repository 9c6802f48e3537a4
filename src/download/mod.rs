//! Getting bytes: HTTP(S) and `file://` with retries, hashing while
//! streaming, safe extraction, and a lock so one install happens at a time.

mod extract;
mod hash;
mod http;
mod lock;
pub mod trust;
mod wheel;

pub use extract::{ArchiveFormat, Bounded, Budget, Counted, ExtractError, links_stay_inside, single_top_dir, unpack};
pub use hash::{HashingReader, NotADigest, Sha256};
pub use http::{Body, Client, Fault, is_timeout, retrying};
pub use lock::InstallLock;
pub use wheel::{Member, WheelError, extract_member};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("GET {url}: the server answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: there is no file {}", path.display())]
    NoFile { url: String, path: std::path::PathBuf },
    #[error("{url} timed out: the server sent nothing for {seconds} s")]
    TimedOut { url: String, seconds: u64 },
    #[error("{url} is larger than the {} gw reads; refusing it", crate::limits::bytes(*limit))]
    TooLarge { url: String, limit: u64 },
    #[error(transparent)]
    Limit(#[from] crate::limits::Invalid),
    #[error("could not download {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("the download of {url} stopped early: got {received} of {expected} bytes")]
    Truncated { url: String, expected: u64, received: u64 },
    #[error("checksum failed for '{url}', expected '{expected}', calculated '{actual}'; nothing was installed")]
    Checksum { url: String, expected: Sha256, actual: Sha256 },
    #[error("{url}: {source}")]
    Extract { url: String, source: ExtractError },
    #[error("{url}: {source}")]
    Wheel { url: String, source: WheelError },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("could not set up the HTTP client: {0}")]
    Client(String),
}

impl Error {
    /// Whether the server said the thing does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Status { status: 404 | 410, .. } | Error::NoFile { .. })
    }

    /// Whether the failure was reaching the server at all (offline, DNS, refused, silent).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Network { .. } | Error::TimedOut { .. })
    }
}

impl crate::diagnose::Diagnose for Error {
    fn is_input(&self) -> bool {
        matches!(self, Error::Limit(_))
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Limit(e) => e.hint(),
            Error::TimedOut { .. } => Some(format!(
                "for a slow server, raise {} (seconds; see docs/security.md#limits)",
                crate::env_vars::GW_HTTP_IDLE_TIMEOUT.name
            )),
            Error::Extract { source: ExtractError::TooLarge { .. }, .. } => Some(format!(
                "if the archive is genuine, raise {} (bytes; see docs/security.md#limits)",
                crate::env_vars::GW_MAX_UNPACKED.name
            )),
            _ => None,
        }
    }
}

/// A URL with its user information (a mirror's token) hidden, for messages.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("***");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// An error and its causes on one line: reqwest's own message alone is too terse.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}
