//! The plugin configuration: JSON, given by Envoy to `on_configure`.
//!
//! ```json
//! {
//!   "paths": ["{{ path_pattern }}"],
//!   "realm": "{{ project_name }}",
{%- if algorithm == "hs256" %}
//!   "secret": "at least 32 bytes, shared with the token issuer",
{%- else %}
//!   "public_keys": ["-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n"],
{%- endif %}
//!   "issuer": "https://issuer.example",
//!   "audiences": ["my-api"],
//!   "claims_to_headers": {"sub": "x-jwt-sub", "scope": "x-jwt-scope"},
//!   "require_exp": true,
//!   "leeway_seconds": 60
//! }
//! ```
//! Only the key material is required; the rest has the defaults shown
//! (`issuer` and `audiences` are not checked unless given).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Path patterns that need a token; `*` matches any run of characters.
    #[serde(default = "default_paths")]
    pub paths: Vec<String>,
    /// Shown to clients in `WWW-Authenticate`.
    #[serde(default = "default_realm")]
    pub realm: String,
{%- if algorithm == "hs256" %}
    /// The HMAC secret, as UTF-8 bytes.
    #[serde(default)]
    pub secret: String,
{%- else %}
    /// PEM public keys (SPKI `BEGIN PUBLIC KEY`{% if algorithm == "rs256" %} or PKCS#1 `BEGIN RSA PUBLIC KEY`{% endif %});
    /// a token signed by any of them is accepted, so keys can be rotated.
    #[serde(default)]
    pub public_keys: Vec<String>,
{%- endif %}
    /// When set, the `iss` claim must equal it.
    #[serde(default)]
    pub issuer: Option<String>,
    /// When not empty, the `aud` claim (a string or a list) must name one of these.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Claim name → request header that carries its value upstream.
    #[serde(default = "default_claims")]
    pub claims_to_headers: BTreeMap<String, String>,
    /// Refuse tokens without an `exp` claim.
    #[serde(default = "yes")]
    pub require_exp: bool,
    /// Clock skew allowed when checking `exp` and `nbf`.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

fn default_paths() -> Vec<String> {
    vec!["{{ path_pattern }}".to_string()]
}

fn default_realm() -> String {
    "{{ project_name }}".to_string()
}

fn default_claims() -> BTreeMap<String, String> {
    BTreeMap::from([("sub".to_string(), "x-jwt-sub".to_string())])
}

fn yes() -> bool {
    true
}

fn default_leeway() -> u64 {
    60
}

impl Config {
    /// Parses and checks the configuration. Key material is checked when the
    /// key is built (`Key::from_config`).
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let mut config: Config = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if config.paths.is_empty() {
            return Err("paths is empty: no request would be checked".into());
        }
        if let Some(bad) = config.paths.iter().find(|p| !p.starts_with('/')) {
            return Err(format!("path pattern '{bad}' does not start with '/'"));
        }
        // The realm is quoted in a header: no quotes, backslashes or control characters.
        if config.realm.is_empty() || !config.realm.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') {
            return Err(format!("realm '{}' must be printable ASCII without quotes or backslashes", config.realm));
        }
        config.claims_to_headers = std::mem::take(&mut config.claims_to_headers)
            .into_iter()
            .map(|(claim, header)| {
                let ok = !header.is_empty()
                    && header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !header.eq_ignore_ascii_case("authorization");
                if ok { Ok((claim, header.to_ascii_lowercase())) } else { Err(format!("'{header}' is not a usable header name")) }
            })
            .collect::<Result<_, String>>()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = Config::parse(b"{}").unwrap();
        assert_eq!(config.paths, ["{{ path_pattern }}"]);
        assert_eq!(config.realm, "{{ project_name }}");
        assert_eq!(config.claims_to_headers.get("sub").map(String::as_str), Some("x-jwt-sub"));
        assert!(config.require_exp);
        assert_eq!(config.leeway_seconds, 60);
    }

    #[test]
    fn lowercases_header_names() {
        let config = Config::parse(br#"{"claims_to_headers": {"email": "X-User-Email"}}"#).unwrap();
        assert_eq!(config.claims_to_headers.get("email").map(String::as_str), Some("x-user-email"));
    }

    #[test]
    fn refuses_bad_input() {
        assert!(Config::parse(b"").is_err());
        assert!(Config::parse(br#"{"paths": []}"#).is_err());
        assert!(Config::parse(br#"{"paths": ["api/*"]}"#).is_err());
        assert!(Config::parse(br#"{"realm": "a\"b"}"#).is_err());
        assert!(Config::parse(br#"{"claims_to_headers": {"sub": "bad name"}}"#).is_err());
        assert!(Config::parse(br#"{"claims_to_headers": {"sub": "Authorization"}}"#).is_err());
        assert!(Config::parse(br#"{"unknown": 1}"#).is_err());
    }
}
