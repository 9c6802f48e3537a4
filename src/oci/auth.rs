//! Registry credentials and the challenges registries answer 401 with.
//!
//! Credentials come from Docker's config.json (`$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`), the file `docker login` writes, the way
//! Docker reads it: a registry's `credHelpers` entry first, then the
//! `credsStore` helper, then the inline `auths` entries. A login is a user
//! name and password, or an identity token (an OAuth2 refresh token, which
//! `az acr login` and some helpers keep), which only a token service takes.

use std::collections::HashMap;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::Error;

/// The user name credential helpers answer with for an identity token.
const IDENTITY_USER: &str = "<token>";

#[derive(Clone)]
pub enum Credentials {
    Login {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token, exchanged at the token service.
    Identity(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Login { username, .. } => write!(f, "Login({username}, <hidden>)"),
            Credentials::Identity(_) => write!(f, "Identity(<hidden>)"),
        }
    }
}

impl Credentials {
    fn login(username: &str, password: &str) -> Credentials {
        Credentials::Login { username: username.to_string(), password: password.to_string() }
    }

    /// `Basic …` for a user name and password; None for an identity token.
    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Login { username, password } => {
                Some(format!("Basic {}", STANDARD.encode(format!("{username}:{password}"))))
            }
            Credentials::Identity(_) => None,
        }
    }

    /// The login Docker's config.json holds for `registry`, if any.
    pub fn for_registry(registry: &str) -> Result<Option<Credentials>, Error> {
        let Some((path, config)) = load_config()? else { return Ok(None) };
        let bad = |reason: String| Error::Credentials { path: path.clone(), reason };
        let hub = registry == super::reference::DOCKER_HUB;
        // Docker's name for Docker Hub in config files and helpers.
        let server = if hub { "https://index.docker.io/v1/" } else { registry };
        let helper = config.cred_helpers.get(registry).or(config.creds_store.as_ref()).filter(|h| !h.is_empty());
        if let Some(helper) = helper
            && let Some(found) = from_helper(helper, server).map_err(bad)?
        {
            return Ok(Some(found));
        }
        let keys: Vec<String> = if hub {
            vec![server.into(), "index.docker.io".into(), "docker.io".into()]
        } else {
            vec![registry.into(), format!("https://{registry}"), format!("http://{registry}")]
        };
        let Some(entry) = keys.iter().find_map(|k| config.auths.get(k)) else { return Ok(None) };
        if let Some(token) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials::Identity(token.clone())));
        }
        if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
            return Ok(Some(Credentials::login(username, password)));
        }
        let Some(auth) = &entry.auth else { return Ok(None) };
        let decoded = STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| bad(format!("the auth entry for {registry} is not base64 of user:password")))?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| bad(format!("the auth entry for {registry} is not base64 of user:password")))?;
        Ok(Some(Credentials::login(username, password)))
    }
}

/// Where logins are configured, without the secrets: for `gw doctor`.
#[derive(Debug)]
pub struct LoginSources {
    pub path: PathBuf,
    /// Registries with an inline login.
    pub inline: Vec<String>,
    /// The `credsStore` helper, and the registries with a helper of their own.
    pub store: Option<String>,
    pub helpers: Vec<String>,
}

impl LoginSources {
    /// None when there is no config file.
    pub fn read() -> Result<Option<LoginSources>, Error> {
        let Some((path, config)) = load_config()? else { return Ok(None) };
        let mut inline: Vec<String> = config
            .auths
            .iter()
            .filter(|(_, e)| e.auth.is_some() || e.password.is_some() || e.identitytoken.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        inline.sort();
        let mut helpers: Vec<String> = config.cred_helpers.keys().cloned().collect();
        helpers.sort();
        Ok(Some(LoginSources { path, inline, store: config.creds_store.filter(|s| !s.is_empty()), helpers }))
    }
}

/// Asks `docker-credential-<helper> get` for `server`'s login (Docker's
/// credential helper protocol); None when the helper has none.
fn from_helper(helper: &str, server: &str) -> Result<Option<Credentials>, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("its credential helper {program} cannot be run: {e}"))?;
    child.stdin.take().expect("stdin is piped").write_all(server.as_bytes()).map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        // Helpers say "credentials not found" for registries they hold nothing for.
        return Ok(None);
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{program} answered something other than its JSON: {e}"))?;
    Ok(Some(if answer.username == IDENTITY_USER {
        Credentials::Identity(answer.secret)
    } else {
        Credentials::Login { username: answer.username, password: answer.secret }
    }))
}

/// Docker's config.json and where it is; None when there is none.
fn load_config() -> Result<Option<(PathBuf, DockerConfig)>, Error> {
    let Some(path) = config_path() else { return Ok(None) };
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io(source)),
    };
    match serde_json::from_str(&text) {
        Ok(config) => Ok(Some((path, config))),
        Err(e) => Err(Error::Credentials { path, reason: e.to_string() }),
    }
}

fn config_path() -> Option<PathBuf> {
    if let Some(dir) = crate::env_vars::path(&crate::env_vars::DOCKER_CONFIG) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::home_dir().map(|home| home.join(".docker/config.json"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    creds_store: Option<String>,
}

#[derive(Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

/// What a 401's `WWW-Authenticate` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String>, scope: Option<String> },
}

impl Challenge {
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(params);
        Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        })
    }
}

/// `key="value",key2="value, with comma"` into a map.
fn parse_params(text: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let (value, remainder) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        params.insert(key, value.to_string());
        rest = remainder.trim_start_matches([',', ' ']);
    }
    params
}

/// The token endpoint's answer (Docker Hub says `token`, others `access_token`).
#[derive(Deserialize)]
pub struct TokenResponse {
    pub token: Option<String>,
    pub access_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/debian:pull,push".into()),
            })
        );
        assert_eq!(Challenge::parse(r#"Basic realm="Registry Realm""#), Some(Challenge::Basic));
        assert_eq!(Challenge::parse("Negotiate"), None);
    }
}
