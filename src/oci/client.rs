//! The registry HTTP API (distribution spec) on reqwest, with its two ways
//! of asking for credentials: Basic, and Bearer tokens from a token service
//! (anonymous when no login is known, as Docker Hub, quay.io and ghcr.io allow).
//!
//! Credentials and tokens go only to the registry's own origin and to the
//! token service its own challenge names (over HTTPS, or plain HTTP on the
//! host the user named): never to an upload location or a redirect target
//! elsewhere, and no challenge from elsewhere is answered (docs/security.md).

use std::cell::RefCell;
use std::io::Read;

use reqwest::Method;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};

use super::auth::{Challenge, Credentials, TokenResponse};
use super::manifest::{self, Document};
use super::{Digest, Error, ImageRef};
use crate::download::chain;

use crate::limits::MANIFEST as MANIFEST_LIMIT;

/// How to reach one registry.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `https://ghcr.io`, `http://127.0.0.1:5000`.
    pub base: String,
    /// The name its logins are kept under (`docker login <login>`): `docker.io`, `mirror.example:5000`.
    pub login: String,
}

impl Endpoint {
    /// The registry an image names; plain HTTP when `insecure`.
    pub fn of(image: &ImageRef, insecure: bool) -> Endpoint {
        let scheme = if insecure { "http" } else { "https" };
        Endpoint { base: format!("{scheme}://{}", image.api_host()), login: image.registry.clone() }
    }

    /// A mirror given as a base URL (`http://127.0.0.1:5000`, `https://mirror.example`).
    pub fn mirror(base: &str) -> Endpoint {
        let base = base.trim_end_matches('/');
        let base = if base.contains("://") { base.to_string() } else { format!("https://{base}") };
        let login = base.split_once("://").map_or(base.as_str(), |(_, host)| host).to_string();
        Endpoint { base, login }
    }

    /// Whether `url` is on this registry's own origin (scheme, host and port).
    fn owns(&self, url: &str) -> bool {
        match (reqwest::Url::parse(&self.base), reqwest::Url::parse(url)) {
            (Ok(base), Ok(url)) => origin(&base) == origin(&url),
            _ => false,
        }
    }

    /// Whether a token service at `realm` may be sent credentials: over
    /// HTTPS, or over plain HTTP on the registry's own host (the one the user
    /// named with --insecure or an http:// mirror).
    fn trusts_realm(&self, realm: &reqwest::Url) -> bool {
        match realm.scheme() {
            "https" => true,
            "http" => reqwest::Url::parse(&self.base).is_ok_and(|base| base.host_str() == realm.host_str()),
            _ => false,
        }
    }
}

fn origin(url: &reqwest::Url) -> (&str, Option<&str>, Option<u16>) {
    (url.scheme(), url.host_str(), url.port_or_known_default())
}

/// A session with one registry for one repository; it keeps the token it got.
pub struct Registry<'c> {
    http: &'c reqwest::blocking::Client,
    endpoint: Endpoint,
    image: ImageRef,
    credentials: Option<Credentials>,
    /// `pull` or `pull,push`: the scope tokens are asked for.
    actions: &'static str,
    authorization: RefCell<Option<String>>,
}

/// A manifest as the registry sent it, with its digest and media type.
pub struct Fetched {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl Fetched {
    pub fn document(&self, image: &ImageRef) -> Result<Document, Error> {
        let bad = |reason: String| Error::BadDocument { image: image.to_string(), what: "manifest".into(), reason };
        match self.media_type.as_str() {
            manifest::OCI_INDEX | manifest::DOCKER_LIST => {
                serde_json::from_slice(&self.bytes).map(Document::Index).map_err(|e| bad(e.to_string()))
            }
            manifest::OCI_MANIFEST | manifest::DOCKER_MANIFEST => serde_json::from_slice(&self.bytes)
                .map(|m| Document::Manifest(Box::new(m)))
                .map_err(|e| bad(e.to_string())),
            other => Err(Error::MediaType {
                image: image.to_string(),
                what: "the manifest".into(),
                media_type: other.to_string(),
            }),
        }
    }
}

impl<'c> Registry<'c> {
    /// A session with the registry an image names, with the login Docker's
    /// config.json has for it; plain HTTP when `insecure`.
    pub fn connect(
        http: &'c reqwest::blocking::Client,
        image: &ImageRef,
        insecure: bool,
        push: bool,
    ) -> Result<Registry<'c>, Error> {
        let credentials = Credentials::for_registry(&image.registry)?;
        Ok(Registry::new(http, Endpoint::of(image, insecure), image, credentials, push))
    }

    pub fn new(
        http: &'c reqwest::blocking::Client,
        endpoint: Endpoint,
        image: &ImageRef,
        credentials: Option<Credentials>,
        push: bool,
    ) -> Registry<'c> {
        Registry {
            http,
            endpoint,
            image: image.clone(),
            credentials,
            actions: if push { "pull,push" } else { "pull" },
            authorization: RefCell::new(None),
        }
    }

    pub fn image(&self) -> &ImageRef {
        &self.image
    }

    /// Whether gw has credentials for this registry (a login or a credential helper).
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// `<base>/v2/<repository>/<rest>`.
    pub fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.endpoint.base, self.image.repository)
    }

    /// The name the registry's logins are kept under.
    pub fn login(&self) -> &str {
        &self.endpoint.login
    }

    /// Sends a request, answering one 401 challenge and sending it again.
    /// `make` builds the request afresh each time (bodies cannot be replayed).
    /// Only requests to the registry's own origin carry credentials, and only
    /// a challenge the registry itself sent (not a redirect target) is answered.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        make: &dyn Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let own = self.endpoint.owns(url);
        let attempt = |authorization: &Option<String>| {
            let mut request = make(self.http.request(method.clone(), url));
            if let Some(value) = authorization.as_ref().filter(|_| own) {
                request = request.header(AUTHORIZATION, value);
            }
            request.send().map_err(|e| network(url, &e))
        };
        let response = attempt(&self.authorization.borrow())?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED
            || !own
            || !self.endpoint.owns(response.url().as_str())
        {
            return Ok(response);
        }
        let challenge =
            response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).and_then(Challenge::parse);
        let Some(challenge) = challenge else { return Ok(response) };
        let authorization = self.authorize(&challenge)?;
        *self.authorization.borrow_mut() = Some(authorization);
        attempt(&self.authorization.borrow())
    }

    fn authorize(&self, challenge: &Challenge) -> Result<String, Error> {
        let unauthorized = |detail: String| Error::Unauthorized {
            registry: self.endpoint.login.clone(),
            image: self.image.to_string(),
            detail,
        };
        match challenge {
            Challenge::Basic => match self.credentials.as_ref().map(Credentials::basic_header) {
                Some(Some(header)) => Ok(header),
                Some(None) => Err(unauthorized(
                    "it asks for a user name and password, and its login is an identity token, \
                     which only a token service takes"
                        .into(),
                )),
                None => Err(unauthorized("it asks for a user name and password, and none is configured".into())),
            },
            Challenge::Bearer { realm, service, scope } => {
                let url = reqwest::Url::parse(realm)
                    .map_err(|e| unauthorized(format!("its token service '{realm}' is not a URL: {e}")))?;
                if self.credentials.is_some() && !self.endpoint.trusts_realm(&url) {
                    return Err(unauthorized(format!(
                        "its token service {realm} is plain HTTP on another host; gw sends credentials \
                         there only over HTTPS"
                    )));
                }
                let ours = format!("repository:{}:{}", self.image.repository, self.actions);
                let mut query =
                    vec![("scope", if self.actions == "pull" { scope.clone().unwrap_or(ours.clone()) } else { ours })];
                if let Some(service) = service {
                    query.push(("service", service.clone()));
                }
                let request = match &self.credentials {
                    // OAuth2's refresh-token grant, as Docker sends it.
                    Some(Credentials::Identity(token)) => {
                        query.extend([
                            ("grant_type", "refresh_token".to_string()),
                            ("refresh_token", token.clone()),
                            ("client_id", "gw".to_string()),
                        ]);
                        self.http.post(realm).form(&query)
                    }
                    login => {
                        let request = self.http.get(realm).query(&query);
                        match login.as_ref().and_then(Credentials::basic_header) {
                            Some(header) => request.header(AUTHORIZATION, header),
                            None => request,
                        }
                    }
                };
                let response = request.send().map_err(|e| network(realm, &e))?;
                if !response.status().is_success() {
                    return Err(unauthorized(format!(
                        "its token service {realm} answered {}",
                        response.status().as_u16()
                    )));
                }
                let token: TokenResponse = response
                    .json()
                    .map_err(|e| unauthorized(format!("its token service {realm} sent no token: {}", chain(&e))))?;
                let token = token.token.or(token.access_token).filter(|t| !t.is_empty());
                token
                    .map(|t| format!("Bearer {t}"))
                    .ok_or_else(|| unauthorized(format!("its token service {realm} sent no token")))
            }
        }
    }

    /// Turns a failed response into an error naming what was asked for.
    pub fn check(&self, response: Response, what: &str) -> Result<Response, Error> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let url = response.url().to_string();
        if !self.endpoint.owns(&url) {
            // A redirect target (a CDN, a storage service) refused: not the registry.
            let detail = " (a place the registry redirected to; it gets none of the registry's credentials)".into();
            return Err(Error::Status { url, status: status.as_u16(), detail });
        }
        let detail = registry_message(response);
        Err(match status.as_u16() {
            401 | 403 => Error::Unauthorized {
                registry: self.endpoint.login.clone(),
                image: self.image.to_string(),
                detail: format!("it answered {}{detail}", status.as_u16()),
            },
            404 => Error::NotFound { image: self.image.to_string(), what: what.to_string(), detail },
            code => Error::Status { url, status: code, detail },
        })
    }

    /// The manifest a tag or digest names, verified against the digest it was
    /// asked by (or the one the registry vouches for).
    pub fn manifest(&self, reference: &str) -> Result<Fetched, Error> {
        let url = self.url(&format!("manifests/{reference}"));
        let response = self.send(Method::GET, &url, &|r| r.header(ACCEPT, manifest::ACCEPT))?;
        let response = self.check(response, &format!("manifest {reference}"))?;
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let announced = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        let mut bytes = Vec::new();
        response.take(MANIFEST_LIMIT + 1).read_to_end(&mut bytes).map_err(|e| read_failed(&url, &e))?;
        if bytes.len() as u64 > MANIFEST_LIMIT {
            return Err(Error::BadDocument {
                image: self.image.to_string(),
                what: format!("manifest {reference}"),
                reason: "it is larger than 4 MiB".into(),
            });
        }
        let digest = Digest::of(&bytes);
        let expected = reference.parse::<Digest>().ok().or(announced);
        if let Some(expected) = expected.filter(|e| e != &digest) {
            return Err(Error::Digest {
                image: self.image.to_string(),
                what: format!("manifest {reference}"),
                expected,
                actual: digest,
            });
        }
        let media_type =
            manifest::media_type_of(content_type.as_deref(), &bytes).ok_or_else(|| Error::BadDocument {
                image: self.image.to_string(),
                what: format!("manifest {reference}"),
                reason: "it names no media type".into(),
            })?;
        Ok(Fetched { digest, media_type, bytes })
    }

    /// A blob, opened for streaming; the caller verifies it as it reads.
    pub fn blob(&self, digest: &Digest) -> Result<Response, Error> {
        let url = self.url(&format!("blobs/{digest}"));
        let response = self.send(Method::GET, &url, &|r| r)?;
        self.check(response, &format!("blob {digest}"))
    }
}

/// A request that got no answer: the connection failed, or the server went quiet.
pub fn network(url: &str, error: &reqwest::Error) -> Error {
    if error.is_timeout() {
        return timed_out(url);
    }
    Error::Network { url: url.to_string(), reason: chain(error) }
}

/// A body read that failed.
pub fn read_failed(url: &str, error: &std::io::Error) -> Error {
    if crate::download::is_timeout(error) {
        return timed_out(url);
    }
    Error::Network { url: url.to_string(), reason: chain(error) }
}

pub(super) fn timed_out(url: &str) -> Error {
    let seconds = crate::limits::idle_timeout().map_or(30, |d| d.as_secs());
    Error::TimedOut { url: url.to_string(), seconds }
}

/// The first message of a registry's JSON error body, if it sent one.
fn registry_message(response: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
    }
    let text = response.text().unwrap_or_default();
    match serde_json::from_str::<Body>(&text) {
        Ok(body) => body
            .errors
            .first()
            .map(|e| format!(" ({}: {})", e.code.as_deref().unwrap_or("ERROR"), e.message.as_deref().unwrap_or("")))
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}
