//! The gateway's policies in `[topology]`: a local rate limit (on the front, or per route), and
//! per route a timeout, retries and header edits. Read from gw.toml as written, checked whole
//! before anything starts (each problem names its key), and handed to the render as values
//! Envoy takes as they are.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// `rate_limit = { requests = 100, per = "1s" }`: a token bucket of `requests` tokens, all of
/// them back every `per`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    pub requests: u32,
    pub per: String,
}

/// `retries = { on = "5xx,reset", attempts = 3, per_try_timeout = "1s" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetriesSpec {
    pub on: String,
    pub attempts: u32,
    pub per_try_timeout: Option<String>,
}

/// `headers = { request_add = { x-gw = "1" }, response_remove = ["server"] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersSpec {
    #[serde(default)]
    pub request_add: BTreeMap<String, String>,
    #[serde(default)]
    pub request_remove: Vec<String>,
    #[serde(default)]
    pub response_add: BTreeMap<String, String>,
    #[serde(default)]
    pub response_remove: Vec<String>,
}

/// `cors = { allow_origins = ["https://app.example"], allow_methods = ["GET"], ... }` on a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSpec {
    pub allow_origins: Vec<String>,
    #[serde(default)]
    pub allow_methods: Vec<String>,
    #[serde(default)]
    pub allow_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    pub max_age: Option<String>,
    #[serde(default)]
    pub allow_credentials: bool,
}

/// A checked CORS policy: `max_age` in seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_credentials: bool,
}

impl CorsSpec {
    fn check(&self, at: &str) -> Result<Cors, String> {
        if self.allow_origins.is_empty() {
            return Err(format!("{at}.allow_origins is empty: name the origins (\"https://app.example\", or \"*\")"));
        }
        for origin in &self.allow_origins {
            let scheme = origin.starts_with("https://") || origin.starts_with("http://");
            if origin != "*" && (!scheme || origin.ends_with('/')) {
                return Err(format!("{at}.allow_origins: {origin:?} is not an origin (scheme://host[:port], no path)"));
            }
        }
        if self.allow_credentials && self.allow_origins.iter().any(|o| o == "*") {
            return Err(format!(
                "{at}: allow_credentials with the origin \"*\" is refused by browsers; name the origins"
            ));
        }
        for method in &self.allow_methods {
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("{at}.allow_methods: {method:?} is not a method (GET, POST, ...)"));
            }
        }
        let max_age = match &self.max_age {
            Some(text) => Some(duration(text).map_err(|e| format!("{at}.max_age: {e}"))?.as_secs()),
            None => None,
        };
        Ok(Cors {
            allow_origins: self.allow_origins.clone(),
            allow_methods: self.allow_methods.clone(),
            allow_headers: self.allow_headers.clone(),
            expose_headers: self.expose_headers.clone(),
            max_age,
            allow_credentials: self.allow_credentials,
        })
    }
}

/// A checked rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

/// A route's checked policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutePolicy {
    pub timeout: Option<Duration>,
    pub retries: Option<Retries>,
    pub rate_limit: Option<RateLimit>,
    pub headers: HeadersSpec,
    pub cors: Option<Cors>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retries {
    pub on: String,
    pub attempts: u32,
    pub per_try_timeout: Option<Duration>,
}

/// What Envoy's router retries on (`x-envoy-retry-on`).
const RETRY_ON: &[&str] = &[
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
];

/// Envoy refuses a local rate limit that refills more often than this.
const MIN_FILL: Duration = Duration::from_millis(50);

/// `500ms`, `1s`, `1.5s`, `2m`, `1h`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 =
        number.parse().map_err(|_| format!("{text:?} is not a duration: write a number and a unit, e.g. \"1s\""))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h, e.g. \"500ms\" or \"1s\"")),
    };
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("{text:?} must be more than 0 and at most a day"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A duration as Envoy's JSON writes one: `0.500s`.
pub fn envoy_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{}.{:03}s", millis / 1000, millis % 1000)
    }
}

impl RateLimitSpec {
    pub fn check(&self, at: &str) -> Result<RateLimit, String> {
        if self.requests == 0 {
            return Err(format!("{at}.requests = 0 would refuse every request; the least is 1"));
        }
        let per = duration(&self.per).map_err(|e| format!("{at}.per: {e}"))?;
        if per < MIN_FILL {
            return Err(format!("{at}.per = {:?}: Envoy refills a bucket at most every 50ms", self.per));
        }
        Ok(RateLimit { requests: self.requests, per })
    }
}

impl RetriesSpec {
    fn check(&self, at: &str) -> Result<Retries, String> {
        for condition in self.on.split(',').map(str::trim) {
            if !RETRY_ON.contains(&condition) {
                return Err(format!(
                    "{at}.on: {condition:?} is not a condition Envoy retries on; use a comma-separated list of {}",
                    RETRY_ON.join(", ")
                ));
            }
        }
        if !(1..=10).contains(&self.attempts) {
            return Err(format!("{at}.attempts = {}: give 1 to 10", self.attempts));
        }
        let per_try_timeout = match &self.per_try_timeout {
            Some(text) => Some(duration(text).map_err(|e| format!("{at}.per_try_timeout: {e}"))?),
            None => None,
        };
        let on = self.on.split(',').map(str::trim).collect::<Vec<_>>().join(",");
        Ok(Retries { on, attempts: self.attempts, per_try_timeout })
    }
}

impl HeadersSpec {
    fn check(&self, at: &str) -> Result<(), String> {
        let names = self.request_add.keys().chain(&self.request_remove).chain(self.response_add.keys());
        for name in names.chain(&self.response_remove) {
            let token = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if !token {
                return Err(format!("{at}: {name:?} is not a header name (lower-case letters, digits, '-', '_')"));
            }
            if name == "host" || name.starts_with(':') {
                return Err(format!("{at}: {name:?} cannot be edited here"));
            }
        }
        for value in self.request_add.values().chain(self.response_add.values()) {
            if value.chars().any(|c| c.is_control()) {
                return Err(format!("{at}: the value {value:?} holds a control character"));
            }
        }
        Ok(())
    }
}

/// A route's policies, checked; `at` is its key (`routes[0]`).
pub fn route_policy(
    at: &str,
    timeout: Option<&str>,
    retries: Option<&RetriesSpec>,
    rate_limit: Option<&RateLimitSpec>,
    headers: Option<&HeadersSpec>,
    cors: Option<&CorsSpec>,
) -> Result<RoutePolicy, String> {
    let timeout = match timeout {
        Some(text) => Some(duration(text).map_err(|e| format!("{at}.timeout: {e}"))?),
        None => None,
    };
    let headers = headers.cloned().unwrap_or_default();
    headers.check(&format!("{at}.headers"))?;
    Ok(RoutePolicy {
        timeout,
        retries: retries.map(|r| r.check(&format!("{at}.retries"))).transpose()?,
        rate_limit: rate_limit.map(|r| r.check(&format!("{at}.rate_limit"))).transpose()?,
        headers,
        cors: cors.map(|c| c.check(&format!("{at}.cors"))).transpose()?,
    })
}

/// `health_check = { path = "/healthz", interval = "1s" }`: Envoy asks every endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    pub path: String,
    pub interval: String,
}

/// `circuit_breaker = { max_connections = 100, max_pending_requests = 10, max_requests = 100 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    pub max_connections: Option<u32>,
    pub max_pending_requests: Option<u32>,
    pub max_requests: Option<u32>,
}

/// `outlier_detection = { consecutive_5xx = 3 }`: an endpoint that answers this many 5xx in a
/// row is taken out of the rotation for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetection {
    pub consecutive_5xx: u32,
}

/// A service's checked upstream policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePolicy {
    /// (path, interval)
    pub health_check: Option<(String, Duration)>,
    pub circuit_breaker: Option<CircuitBreaker>,
    pub outlier_detection: Option<OutlierDetection>,
}

/// A service's policies, checked; `at` is its key (`services[0]`).
pub fn service_policy(
    at: &str,
    health_check: Option<&HealthCheckSpec>,
    circuit_breaker: Option<&CircuitBreaker>,
    outlier_detection: Option<&OutlierDetection>,
) -> Result<ServicePolicy, String> {
    let health_check = match health_check {
        Some(check) => {
            if !check.path.starts_with('/') || check.path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!("{at}.health_check.path = {:?}: a path starting with '/'", check.path));
            }
            let interval = duration(&check.interval).map_err(|e| format!("{at}.health_check.interval: {e}"))?;
            Some((check.path.clone(), interval))
        }
        None => None,
    };
    if let Some(breaker) = circuit_breaker {
        let limits = [
            ("max_connections", breaker.max_connections),
            ("max_pending_requests", breaker.max_pending_requests),
            ("max_requests", breaker.max_requests),
        ];
        if limits.iter().all(|(_, v)| v.is_none()) {
            return Err(format!(
                "{at}.circuit_breaker: give at least one of max_connections, max_pending_requests, max_requests"
            ));
        }
        if let Some((key, _)) = limits.iter().find(|(_, v)| *v == Some(0)) {
            return Err(format!("{at}.circuit_breaker.{key} = 0 would refuse every request; the least is 1"));
        }
    }
    if let Some(outlier) = outlier_detection
        && outlier.consecutive_5xx == 0
    {
        return Err(format!("{at}.outlier_detection.consecutive_5xx = 0: the least is 1"));
    }
    Ok(ServicePolicy {
        health_check,
        circuit_breaker: circuit_breaker.copied(),
        outlier_detection: outlier_detection.copied(),
    })
}

/// `[topology.front.jwt]`: Envoy's jwt_authn on the front.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSpec {
    pub issuer: String,
    #[serde(default)]
    pub audiences: Vec<String>,
    /// A local JWKS file (relative to the project), or `jwks_uri`.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// Claim → request header, for the services.
    #[serde(default)]
    pub forward_claims: BTreeMap<String, String>,
    /// A token file for trying the gateway: `gw run` prints curl lines that send it.
    pub dev_token: Option<String>,
}

/// A checked JWT requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwt {
    pub issuer: String,
    pub audiences: Vec<String>,
    pub keys: JwksSource,
    pub forward_claims: Vec<(String, String)>,
    pub dev_token: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(std::path::PathBuf),
    /// Fetched by Envoy (and cached): the URI and its host, port and scheme.
    Remote {
        uri: String,
        host: String,
        port: u16,
        tls: bool,
    },
}

impl JwtSpec {
    /// Checked against the project at `root`: the JWKS file must hold a JWKS.
    pub fn check(&self, root: &std::path::Path) -> Result<Jwt, String> {
        let at = "front.jwt";
        if self.issuer.trim().is_empty() {
            return Err(format!("{at}.issuer is empty: give the `iss` your tokens carry"));
        }
        let keys = match (&self.jwks, &self.jwks_uri) {
            (Some(file), None) => {
                let path = root.join(file);
                let text = fs_err::read_to_string(&path)
                    .map_err(|e| format!("{at}.jwks = {file:?}: cannot read {}: {e}", path.display()))?;
                let parsed: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| format!("{at}.jwks = {file:?}: not JSON ({e}); a JWKS is {{\"keys\": [...]}}"))?;
                if parsed["keys"].as_array().is_none_or(|keys| keys.is_empty()) {
                    return Err(format!("{at}.jwks = {file:?}: not a JWKS: it needs a non-empty \"keys\" list"));
                }
                JwksSource::File(path)
            }
            (None, Some(uri)) => remote(uri).map_err(|e| format!("{at}.jwks_uri = {uri:?}: {e}"))?,
            _ => return Err(format!("{at}: give jwks (a local JWKS file) or jwks_uri, one of them")),
        };
        for header in self.forward_claims.values() {
            if header.is_empty() || !header.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                return Err(format!("{at}.forward_claims: {header:?} is not a lower-case header name"));
            }
        }
        let dev_token = match &self.dev_token {
            Some(file) if !root.join(file).is_file() => {
                return Err(format!(
                    "{at}.dev_token = {file:?}: {} is not a file; give a token file, or leave the key out",
                    root.join(file).display()
                ));
            }
            other => other.as_ref().map(|file| root.join(file)),
        };
        Ok(Jwt {
            issuer: self.issuer.clone(),
            audiences: self.audiences.clone(),
            keys,
            forward_claims: self.forward_claims.clone().into_iter().collect(),
            dev_token,
        })
    }
}

fn remote(uri: &str) -> Result<JwksSource, String> {
    let (tls, rest) = if let Some(rest) = uri.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = uri.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("give an https:// (or http://) URL".into());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| format!("the port {port:?} is not a number"))?),
        None => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '@') {
        return Err("the URL has no host".into());
    }
    Ok(JwksSource::Remote { uri: uri.to_string(), host: host.to_string(), port, tls })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_keys_are_checked_before_anything_starts() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("bad.json"), "{not json").unwrap();
        fs_err::write(dir.path().join("empty.json"), r#"{"keys": []}"#).unwrap();
        let spec = |jwks: Option<&str>, uri: Option<&str>| JwtSpec {
            issuer: "https://issuer.example".into(),
            audiences: vec![],
            jwks: jwks.map(Into::into),
            jwks_uri: uri.map(Into::into),
            forward_claims: BTreeMap::new(),
            dev_token: None,
        };
        assert!(
            spec(Some("bad.json"), None)
                .check(dir.path())
                .unwrap_err()
                .contains("front.jwt.jwks = \"bad.json\": not JSON")
        );
        assert!(spec(Some("empty.json"), None).check(dir.path()).unwrap_err().contains("not a JWKS"));
        assert!(spec(Some("none.json"), None).check(dir.path()).unwrap_err().contains("cannot read"));
        assert!(spec(None, None).check(dir.path()).unwrap_err().contains("one of them"));
        fs_err::write(dir.path().join("jwks.json"), r#"{"keys": [{"kty": "EC"}]}"#).unwrap();
        let with_token = JwtSpec { dev_token: Some("keys/none.jwt".into()), ..spec(Some("jwks.json"), None) };
        assert!(with_token.check(dir.path()).unwrap_err().contains("front.jwt.dev_token = \"keys/none.jwt\""));
        assert!(spec(None, Some("ftp://x/k")).check(dir.path()).unwrap_err().contains("https://"));
        let remote = spec(None, Some("https://login.example:8443/keys")).check(dir.path()).unwrap();
        assert_eq!(
            remote.keys,
            JwksSource::Remote {
                uri: "https://login.example:8443/keys".into(),
                host: "login.example".into(),
                port: 8443,
                tls: true
            }
        );
    }

    #[test]
    fn durations_in_gw_toml_and_in_envoy() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert!(duration("5").unwrap_err().contains("unit"));
        assert!(duration("0s").is_err() && duration("s").is_err() && duration("2d").is_err());
        assert_eq!(envoy_duration(Duration::from_secs(60)), "60s");
        assert_eq!(envoy_duration(Duration::from_millis(1500)), "1.500s");
    }

    #[test]
    fn bad_values_name_their_key() {
        let zero = RateLimitSpec { requests: 0, per: "1s".into() };
        assert!(zero.check("front.rate_limit").unwrap_err().starts_with("front.rate_limit.requests = 0"));
        let fast = RateLimitSpec { requests: 1, per: "10ms".into() };
        assert!(fast.check("front.rate_limit").unwrap_err().contains("50ms"));
        let retries = RetriesSpec { on: "5xx,oops".into(), attempts: 3, per_try_timeout: None };
        assert!(
            route_policy("routes[1]", None, Some(&retries), None, None, None)
                .unwrap_err()
                .contains("routes[1].retries.on")
        );
        let headers = HeadersSpec { request_add: BTreeMap::from([("X Bad".into(), "1".into())]), ..Default::default() };
        assert!(
            route_policy("routes[0]", None, None, None, Some(&headers), None)
                .unwrap_err()
                .contains("routes[0].headers")
        );
        assert!(
            route_policy("routes[0]", Some("soon"), None, None, None, None).unwrap_err().contains("routes[0].timeout")
        );
        let check = HealthCheckSpec { path: "healthz".into(), interval: "1s".into() };
        assert!(
            service_policy("services[2]", Some(&check), None, None)
                .unwrap_err()
                .contains("services[2].health_check.path")
        );
        let breaker = CircuitBreaker { max_connections: None, max_pending_requests: Some(0), max_requests: None };
        assert!(
            service_policy("services[0]", None, Some(&breaker), None).unwrap_err().contains("max_pending_requests = 0")
        );
        let good = RetriesSpec { on: "5xx, reset".into(), attempts: 3, per_try_timeout: Some("1s".into()) };
        let policy = route_policy("routes[0]", Some("5s"), Some(&good), None, None, None).unwrap();
        assert_eq!(policy.retries.unwrap().on, "5xx,reset");
    }
}
