//! A token service for docker-registry's `token` auth, the scheme Docker Hub,
//! quay.io and ghcr.io use: the registry answers 401 with a Bearer challenge
//! naming this service; clients fetch a JWT here (anonymously, or with Basic
//! credentials) and the registry verifies its RS256 signature against the
//! certificate it trusts. Keys and signatures are made with the openssl CLI.
//!
//! Like Docker Hub, anyone may pull; pushing needs the test login, or the
//! identity token: OAuth2's refresh-token grant, POSTed as a form.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use super::registry::{PASSWORD, USER};

pub const SERVICE: &str = "gw-test-registry";
pub const ISSUER: &str = "gw-test-issuer";
/// The refresh token this service takes in place of the login.
pub const IDENTITY_TOKEN: &str = "gw-test-identity-token";

/// How a token was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Anonymous,
    /// GET with Basic credentials.
    Login,
    /// POST with `grant_type=refresh_token`.
    RefreshToken,
}

pub struct TokenService {
    pub dir: tempfile::TempDir,
    pub port: u16,
    server: Arc<tiny_http::Server>,
    /// Each token handed out: the scope asked for, and how.
    pub requests: Arc<Mutex<Vec<(String, Grant)>>>,
}

impl TokenService {
    pub fn start() -> TokenService {
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("run openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=gw-test-issuer",
        ]);
        openssl(&["x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der"]);
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (key, cert) = (dir.path().join("key.pem"), std::fs::read(dir.path().join("cert.der")).unwrap());
        let (serving, log) = (server.clone(), requests.clone());
        std::thread::spawn(move || {
            for mut request in serving.incoming_requests() {
                let answer = answer(&mut request, &key, &cert, &log);
                let _ = request.respond(answer);
            }
        });
        TokenService { dir, port, server, requests }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn answer(
    request: &mut tiny_http::Request,
    key: &Path,
    cert: &[u8],
    log: &Mutex<Vec<(String, Grant)>>,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let refused = || tiny_http::Response::from_data(b"bad credentials".to_vec()).with_status_code(401);
    // GET: the parameters are the query; POST (a refresh token): the form body.
    let url = reqwest::Url::parse(&format!("http://x{}", request.url())).unwrap();
    let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let post = *request.method() == tiny_http::Method::Post;
    if post {
        let mut body = String::new();
        std::io::Read::read_to_string(request.as_reader(), &mut body).unwrap();
        params = reqwest::Url::parse(&format!("http://x/?{body}")).unwrap().query_pairs().into_owned().collect();
    }
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let scope = param("scope").unwrap_or_default();
    let grant = if post {
        if param("grant_type").as_deref() != Some("refresh_token")
            || param("refresh_token").as_deref() != Some(IDENTITY_TOKEN)
        {
            return refused();
        }
        Grant::RefreshToken
    } else {
        let login = request.headers().iter().find(|h| h.field.equiv("Authorization")).map(|h| h.value.to_string());
        match login {
            None => Grant::Anonymous,
            Some(l) if l == format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}"))) => Grant::Login,
            Some(_) => return refused(),
        }
    };
    let signed_in = grant != Grant::Anonymous;
    log.lock().unwrap().push((scope.clone(), grant));
    // repository:<name>:<actions>; anonymous callers get pull only, as on Docker Hub.
    let mut access = Vec::new();
    if let Some(rest) = scope.strip_prefix("repository:")
        && let Some((name, actions)) = rest.rsplit_once(':')
    {
        let granted: Vec<&str> = actions.split(',').filter(|a| *a == "pull" || signed_in).collect();
        access.push(json!({ "type": "repository", "name": name, "actions": granted }));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let header = json!({ "alg": "RS256", "typ": "JWT", "x5c": [STANDARD.encode(cert)] });
    let claims = json!({
        "iss": ISSUER, "sub": if signed_in { USER } else { "" }, "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", access.len()),
        "access": access,
    });
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(signing_input.as_bytes()).unwrap();
    let signature = child.wait_with_output().unwrap().stdout;
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    // Docker Hub's answer names it `token`; OAuth2's, `access_token`.
    let body = if post { json!({ "access_token": token, "expires_in": 300 }) } else { json!({ "token": token }) };
    tiny_http::Response::from_data(body.to_string().into_bytes())
}
