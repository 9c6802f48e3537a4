//! The filter's decision for one request, as plain data: the proxy-wasm glue
//! in lib.rs only reads headers in and writes the outcome out.

use crate::config::Config;
use crate::jwt::{self, Invalid};
use crate::key::Key;
use crate::path;

/// The configuration with its key, ready to check requests.
pub struct Policy {
    pub config: Config,
    pub key: Key,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The path needs no token.
    Unprotected,
    /// A valid token: set these request headers (claims) and drop Authorization.
    Allowed { headers: Vec<(String, String)> },
    /// No bearer token at all (RFC 6750 §3.1: the challenge carries no error code).
    Missing,
    Invalid(Invalid),
}

impl Policy {
    pub fn from_json(bytes: &[u8]) -> Result<Policy, String> {
        let config = Config::parse(bytes)?;
        let key = Key::from_config(&config)?;
        Ok(Policy { config, key })
    }

    /// Decides for a request to `path` carrying `authorization`, at `now`
    /// (seconds since the Unix epoch, from the host's clock).
    pub fn check(&self, path: &str, authorization: Option<&str>, now: u64) -> Outcome {
        if !path::matches_any(&self.config.paths, path) {
            return Outcome::Unprotected;
        }
        let Some(token) = authorization.and_then(bearer_token) else { return Outcome::Missing };
        match jwt::validate(token, &self.key, &self.config, now) {
            Ok(claims) => {
                let headers = self
                    .config
                    .claims_to_headers
                    .iter()
                    .filter_map(|(claim, header)| Some((header.clone(), jwt::header_value(claims.get(claim)?)?)))
                    .collect();
                Outcome::Allowed { headers }
            }
            Err(invalid) => Outcome::Invalid(invalid),
        }
    }

    /// The `WWW-Authenticate` value for a refusal.
    pub fn challenge(&self, outcome: &Outcome) -> String {
        let realm = &self.config.realm;
        match outcome {
            Outcome::Invalid(why) => {
                format!(r#"Bearer realm="{realm}", error="invalid_token", error_description="{}""#, why.description())
            }
            _ => format!(r#"Bearer realm="{realm}""#),
        }
    }

    /// The claim headers this filter owns: removed from every request, so a
    /// client cannot send its own `x-jwt-sub` past the filter.
    pub fn owned_headers(&self) -> impl Iterator<Item = &str> {
        self.config.claims_to_headers.values().map(String::as_str)
    }
}

/// The short body of a 401.
pub fn body(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Missing => "missing bearer token\n",
        _ => "invalid token\n",
    }
}

/// `Bearer <token>`, the scheme in any case (RFC 7235 §2.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::test_vectors as v;

    const NOW: u64 = 1_750_000_000;

    /// A policy for `/api/*` (whatever the template's default), plus `extra`.
    fn policy(extra: &str) -> Policy {
        let extra = String::from(r#", "paths": ["/api/*"]"#) + extra;
        Policy::from_json(v::config(&extra).as_bytes()).unwrap()
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn good_token_forwards_claims() {
        let policy = policy(r#", "claims_to_headers": {"sub": "x-jwt-sub", "admin": "x-jwt-admin", "missing": "x-jwt-missing"}"#);
        let outcome = policy.check("/api/orders?id=1", Some(&bearer(v::GOOD)), NOW);
        let expected = vec![("x-jwt-admin".to_string(), "true".to_string()), ("x-jwt-sub".to_string(), "alice".to_string())];
        assert_eq!(outcome, Outcome::Allowed { headers: expected });
        assert_eq!(policy.owned_headers().collect::<Vec<_>>(), ["x-jwt-admin", "x-jwt-missing", "x-jwt-sub"]);
    }

    #[test]
    fn bad_signature() {
        assert_eq!(policy("").check("/api/x", Some(&bearer(v::WRONG_KEY)), NOW), Outcome::Invalid(Invalid::Signature));
    }

    #[test]
    fn expired_and_not_yet_valid() {
        let policy = policy("");
        assert_eq!(policy.check("/api/x", Some(&bearer(v::EXPIRED)), NOW), Outcome::Invalid(Invalid::Expired));
        assert_eq!(policy.check("/api/x", Some(&bearer(v::NOT_YET_VALID)), NOW), Outcome::Invalid(Invalid::NotYetValid));
        // The good token expires in 2100: 61 s past that is too late even with the leeway.
        assert_eq!(policy.check("/api/x", Some(&bearer(v::GOOD)), 4_102_444_800 + 61), Outcome::Invalid(Invalid::Expired));
        assert!(matches!(policy.check("/api/x", Some(&bearer(v::GOOD)), 4_102_444_800 + 59), Outcome::Allowed { .. }));
    }

    #[test]
    fn missing_header() {
        let policy = policy("");
        assert_eq!(policy.check("/api/x", None, NOW), Outcome::Missing);
        assert_eq!(policy.check("/api/x", Some("Basic YWRtaW46c2VjcmV0"), NOW), Outcome::Missing);
        assert_eq!(policy.check("/api/x", Some("Bearer "), NOW), Outcome::Missing);
        assert_eq!(policy.challenge(&Outcome::Missing), r#"Bearer realm="{{ project_name }}""#);
    }

    #[test]
    fn scheme_is_case_insensitive() {
        let header = format!("bearer  {}", v::GOOD);
        assert!(matches!(policy("").check("/api/x", Some(&header), NOW), Outcome::Allowed { .. }));
    }

    #[test]
    fn other_paths_are_not_protected() {
        let policy = policy("");
        assert_eq!(policy.check("/public/index.html", None, NOW), Outcome::Unprotected);
        assert_eq!(policy.check("/apix", Some("garbage"), NOW), Outcome::Unprotected);
        assert_eq!(policy.check("/api/", None, NOW), Outcome::Missing);
    }

    #[test]
    fn challenge_names_the_error() {
        let policy = policy(r#", "realm": "shop""#);
        let outcome = Outcome::Invalid(Invalid::Expired);
        assert_eq!(policy.challenge(&outcome), r#"Bearer realm="shop", error="invalid_token", error_description="token expired""#);
        assert_eq!(body(&outcome), "invalid token\n");
    }
}
