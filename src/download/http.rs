//! The HTTP client: reqwest with the platform trust store (plus SSL_CERT_FILE)
//! and the usual proxy variables, `file://` for mirrors, and retries with
//! backoff for faults that may pass.

use fs_err::File;
use std::io::Read;
use std::thread;
use std::time::Duration;

use super::{Error, chain};
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
}

impl Client {
    pub fn new() -> Result<Client, Error> {
        // reqwest reads HTTP(S)_PROXY/NO_PROXY itself. Its native roots are the
        // system store, or SSL_CERT_FILE/SSL_CERT_DIR *instead* when those are
        // set; gw wants both, so the system bundle is added back explicitly.
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(concat!("gw/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(None::<Duration>);
        if super::trust::extra_trust() {
            for certificate in system_bundle() {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(|e| Error::Client(chain(&e)))?;
        Ok(Client { http })
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
        if let Some(path) = url.strip_prefix("file://") {
            let file = File::open(path).map_err(|source| {
                Fault::Fatal(if source.kind() == std::io::ErrorKind::NotFound {
                    Error::Status { url: super::redact(url), status: 404 }
                } else {
                    Error::Io(source)
                })
            })?;
            let len = file.metadata().ok().map(|m| m.len());
            return Ok(Body { reader: Box::new(file), len });
        }
        let mut request = self.http.get(url);
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        let response = request.send().map_err(|e| {
            let reason = without_url(chain(&e));
            // A name that does not resolve will not resolve a second later either.
            if e.is_connect() && reason.contains("dns error") {
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
            let mut body = self.open_accepting(url, accept)?;
            let mut text = String::new();
            match body.reader.read_to_string(&mut text) {
                Ok(_) => Ok(text),
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(Fault::Fatal(Error::Network {
                    url: super::redact(url),
                    reason: "the response is not UTF-8 text".into(),
                })),
                Err(e) => Err(network(url, chain(&e))),
            }
        })
    }
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
