//! Checking `Authorization: Basic <base64(user:password)>` (RFC 7617)
//! against the configured users, as plain data for `cargo test`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest as _, Sha256};

use crate::config::{Config, Digest};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The user name, for `x-auth-user`.
    Allowed(String),
    /// No `Authorization: Basic ...` header, or one that does not decode.
    NoCredentials,
    /// An unknown user or a wrong password; which one is not told.
    Refused,
}

/// The SHA-256 of a password nobody has: unknown users are checked against
/// it, so that they take as long as known ones.
const NOBODY: Digest = [0xff; 32];

pub fn check(config: &Config, authorization: Option<&str>) -> Outcome {
    let Some((user, password)) = authorization.and_then(credentials) else { return Outcome::NoCredentials };
    let (known, expected) = match config.users.get(&user) {
        Some(digest) => (true, digest),
        None => (false, &NOBODY),
    };
    let actual: Digest = Sha256::digest(password.as_bytes()).into();
    if constant_time_eq(&actual, expected) && known { Outcome::Allowed(user) } else { Outcome::Refused }
}

/// The `WWW-Authenticate` challenge.
pub fn challenge(config: &Config) -> String {
    format!(r#"Basic realm="{}""#, config.realm)
}

/// The body of every 401.
pub const BODY: &str = "unauthorized\n";

/// User and password from a `Basic` credential; the scheme in any case.
fn credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    // The user-id ends at the first colon; the password may contain more.
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn constant_time_eq(a: &Digest, b: &Digest) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// admin:secret and bob:"pa:ss wörd".
    const CONFIG: &str = r#"{"realm": "test", "users": {
        "admin": "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
        "bob": "sha256:004a9ad9dc7639d0cdd9ab881e97e009b02bdea82554c74c5a5c03147d69dfb3"}}"#;

    fn config() -> Config {
        Config::parse(CONFIG.as_bytes()).unwrap()
    }

    #[test]
    fn good_credentials() {
        assert_eq!(check(&config(), Some("Basic YWRtaW46c2VjcmV0")), Outcome::Allowed("admin".into()));
        assert_eq!(check(&config(), Some("basic  YWRtaW46c2VjcmV0 ")), Outcome::Allowed("admin".into()));
        // A password with a colon, a space and UTF-8.
        assert_eq!(check(&config(), Some("Basic Ym9iOnBhOnNzIHfDtnJk")), Outcome::Allowed("bob".into()));
    }

    #[test]
    fn wrong_password_or_user() {
        assert_eq!(check(&config(), Some("Basic YWRtaW46d3Jvbmc=")), Outcome::Refused); // admin:wrong
        assert_eq!(check(&config(), Some("Basic ZXZlOnNlY3JldA==")), Outcome::Refused); // eve:secret
        assert_eq!(check(&config(), Some("Basic YWRtaW46")), Outcome::Refused); // admin: (empty password)
    }

    #[test]
    fn no_credentials() {
        for header in [None, Some(""), Some("Basic"), Some("Bearer YWRtaW46c2VjcmV0"), Some("Basic !!!"), Some("Basic YWRtaW4=")] {
            assert_eq!(check(&config(), header), Outcome::NoCredentials, "{header:?}");
        }
    }

    #[test]
    fn challenge_names_the_realm() {
        assert_eq!(challenge(&config()), r#"Basic realm="test""#);
    }
}
