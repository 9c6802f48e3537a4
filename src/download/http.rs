//! The HTTP client: reqwest with the platform trust store (plus SSL_CERT_FILE)
//! and the usual proxy variables, `file://` for mirrors, retries with backoff
//! for faults that may pass, and the limits of docs/security.md: a connect
//! timeout, an idle timeout on every read, and a cap on documents read whole.

use fs_err::File;
use std::io::{self, Read};
use std::thread;
use std::time::Duration;

use super::{Error, chain};
use crate::limits;
use crate::report::{Event, Reporter};

const ATTEMPTS: u32 = 3;
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// A response body being read, with its announced length.
pub struct Body {
    pub reader: Box<dyn Read + Send>,
    pub len: Option<u64>,
}

/// How one attempt went wrong: worth another try, or final.
pub enum Fault<E = Error> {
    Transient(E),
    Fatal(E),
}

fn network(url: &str, reason: String) -> Fault {
    Fault::Transient(Error::Network { url: super::redact(url), reason })
}

pub struct Client {
    http: reqwest::blocking::Client,
    idle: Duration,
}

impl Client {
    pub fn new() -> Result<Client, Error> {
        // reqwest reads HTTP(S)_PROXY/NO_PROXY itself. Its native roots are the
        // system store, or SSL_CERT_FILE/SSL_CERT_DIR *instead* when those are
        // set; gw wants both, so the system bundle is added back explicitly.
        // reqwest's blocking timeout bounds the wait for the headers and then
        // each read of the body on its own: an idle timeout, not a deadline.
        let idle = limits::idle_timeout()?;
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(concat!("gw/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(limits::connect_timeout()?)
            .timeout(idle);
        if super::trust::extra_trust() {
            for certificate in system_bundle() {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(|e| Error::Client(chain(&e)))?;
        Ok(Client { http, idle })
    }

    /// How long a server may send nothing.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// The underlying client, for protocols built on HTTP (the OCI registry API).
    pub fn http(&self) -> &reqwest::blocking::Client {
        &self.http
    }

    /// Opens `url` for reading. Status and connection faults are reported as
    /// [`Fault::Transient`] when another try could help.
    pub fn open(&self, url: &str) -> Result<Body, Fault> {
        self.open_accepting(url, None)
    }

    /// [`Client::open`], asking for the media types in `accept` when given.
    pub fn open_accepting(&self, url: &str, accept: Option<&str>) -> Result<Body, Fault> {
        if url.starts_with("file:") {
            return open_file(url).map_err(Fault::Fatal);
        }
        let mut request = self.http.get(url);
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        let response = request.send().map_err(|e| {
            let reason = without_url(chain(&e));
            if e.is_timeout() {
                return Fault::Transient(self.timed_out(url));
            }
            // A name that does not resolve will not resolve a second later
            // either, and a URL reqwest cannot send (a bad scheme) never will.
            if (e.is_connect() && reason.contains("dns error")) || e.is_builder() {
                Fault::Fatal(Error::Network { url: super::redact(url), reason })
            } else {
                network(url, reason)
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            let transient = status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
            return Err(if transient {
                Fault::Transient(Error::Status { url: super::redact(url), status: status.as_u16() })
            } else {
                Fault::Fatal(Error::Status { url: super::redact(url), status: status.as_u16() })
            });
        }
        let len = response.content_length();
        Ok(Body { reader: Box::new(response), len })
    }

    /// A small document (an index, a checksum file) as text.
    pub fn get_text(&self, url: &str, reporter: &dyn Reporter) -> Result<String, Error> {
        self.get_text_accepting(url, None, reporter)
    }

    /// [`Client::get_text`], asking for the media types in `accept` when given.
    pub fn get_text_accepting(
        &self,
        url: &str,
        accept: Option<&str>,
        reporter: &dyn Reporter,
    ) -> Result<String, Error> {
        retrying(url, reporter, || {
            let body = self.open_accepting(url, accept)?;
            let too_large = || Fault::Fatal(Error::TooLarge { url: super::redact(url), limit: limits::LISTING });
            if body.len.is_some_and(|n| n > limits::LISTING) {
                return Err(too_large());
            }
            let mut bytes = Vec::new();
            if let Err(e) = Read::take(body.reader, limits::LISTING + 1).read_to_end(&mut bytes) {
                return Err(Fault::Transient(self.read_failed(url, &e)));
            }
            if bytes.len() as u64 > limits::LISTING {
                return Err(too_large());
            }
            String::from_utf8(bytes).map_err(|_| {
                Fault::Fatal(Error::Network {
                    url: super::redact(url),
                    reason: "the response is not UTF-8 text".into(),
                })
            })
        })
    }

    /// The error for a server that went quiet for longer than the idle timeout.
    pub fn timed_out(&self, url: &str) -> Error {
        Error::TimedOut { url: super::redact(url), seconds: self.idle.as_secs() }
    }

    /// What a failed read of `url`'s body means: the server went quiet, or the connection failed.
    pub fn read_failed(&self, url: &str, error: &io::Error) -> Error {
        if is_timeout(error) {
            self.timed_out(url)
        } else {
            Error::Network { url: super::redact(url), reason: chain(error) }
        }
    }
}

/// Whether a read failed because the server sent nothing for too long.
pub fn is_timeout(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
        || error.get_ref().and_then(|e| e.downcast_ref::<reqwest::Error>()).is_some_and(reqwest::Error::is_timeout)
}

/// A `file://` URL (`file:///path` or `file://localhost/path`) opened for reading.
fn open_file(url: &str) -> Result<Body, Error> {
    let bad = |reason: &str| Error::Network { url: url.to_string(), reason: reason.to_string() };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    let path = parsed
        .to_file_path()
        .map_err(|()| bad("a file URL names a local path: file:///path or file://localhost/path"))?;
    let file = File::open(&path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            Error::NoFile { url: url.to_string(), path: path.clone() }
        } else {
            Error::Io(source)
        }
    })?;
    let len = file.metadata().ok().map(|m| m.len());
    Ok(Body { reader: Box::new(file), len })
}

/// reqwest's "error sending request for url (…): " says again what the message says.
fn without_url(reason: String) -> String {
    match reason.strip_prefix("error sending request for url (").and_then(|rest| rest.split_once("): ")) {
        Some((_, rest)) => rest.to_string(),
        None => reason,
    }
}

/// The platform's CA bundle (see `trust`), as certificates.
fn system_bundle() -> Vec<reqwest::Certificate> {
    super::trust::system_bundle()
        .and_then(|path| fs_err::read(path).ok())
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
        .unwrap_or_default()
}

/// Runs `attempt` until it succeeds, fails for good, or runs out of tries;
/// pauses double each time.
pub fn retrying<T, E: std::fmt::Display>(
    url: &str,
    reporter: &dyn Reporter,
    mut attempt: impl FnMut() -> Result<T, Fault<E>>,
) -> Result<T, E> {
    let mut pause = FIRST_PAUSE;
    for number in 1..=ATTEMPTS {
        match attempt() {
            Ok(value) => return Ok(value),
            Err(Fault::Fatal(error)) => return Err(error),
            Err(Fault::Transient(error)) if number == ATTEMPTS => return Err(error),
            Err(Fault::Transient(error)) => {
                let reason = error.to_string();
                reporter.event(Event::Retrying { url: url.to_string(), attempt: number + 1, reason });
                thread::sleep(pause);
                pause *= 2;
            }
        }
    }
    unreachable!("the loop returns on its last attempt")
}
