//! The plugin configuration: JSON, given by Envoy to `on_configure`.
//!
//! ```json
//! {
//!   "realm": "{{ realm }}",
//!   "users": {"admin": "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"}
//! }
//! ```
//! Each user's password is stored as `sha256:` and the hex SHA-256 of the
//! password (`printf %s 'secret' | sha256sum`). `realm` may be left out.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A SHA-256 digest.
pub type Digest = [u8; 32];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_realm")]
    realm: String,
    users: BTreeMap<String, String>,
}

fn default_realm() -> String {
    "{{ realm }}".to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub realm: String,
    /// User name → SHA-256 of the password.
    pub users: BTreeMap<String, Digest>,
}

impl Config {
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        // The realm is quoted in a header: no quotes, backslashes or control characters.
        if raw.realm.is_empty() || !raw.realm.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') {
            return Err(format!("realm '{}' must be printable ASCII without quotes or backslashes", raw.realm));
        }
        if raw.users.is_empty() {
            return Err("users is empty: nobody could log in".into());
        }
        let mut users = BTreeMap::new();
        for (name, hash) in raw.users {
            // RFC 7617 §2: the user-id cannot contain a colon.
            if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
                return Err(format!("'{name}' cannot be a user name (empty, a colon or a control character)"));
            }
            let digest = parse_hash(&hash).map_err(|e| format!("users.{name}: {e}"))?;
            users.insert(name, digest);
        }
        Ok(Config { realm: raw.realm, users })
    }
}

/// `sha256:` followed by 64 hex digits.
fn parse_hash(text: &str) -> Result<Digest, String> {
    let hex = text.strip_prefix("sha256:").ok_or("expected sha256:<64 hex digits>")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("expected sha256:<64 hex digits>".into());
    }
    let mut digest = [0; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).expect("hex digits are ASCII");
        *byte = u8::from_str_radix(pair, 16).expect("checked above");
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

    /// `{"users": {"admin": "<hash>"}}`, without format! (whose braces would need doubling).
    fn admin(hash: &str) -> String {
        String::from(r#"{"users": {"admin": ""#) + hash + r#""}}"#
    }

    #[test]
    fn parses_users() {
        let config = Config::parse(admin(SECRET).as_bytes()).unwrap();
        assert_eq!(config.realm, "{{ realm }}");
        assert_eq!(config.users["admin"][..4], [0x2b, 0xb8, 0x0d, 0x53]);
        // Upper-case hex is the same digest.
        let upper = Config::parse(admin(&format!("sha256:{}", SECRET[7..].to_uppercase())).as_bytes()).unwrap();
        assert_eq!(upper.users, config.users);
    }

    #[test]
    fn refuses_bad_input() {
        for json in [
            r#"{}"#,
            r#"{"users": {}}"#,
            r#"{"users": {"admin": "secret"}}"#,
            r#"{"users": {"admin": "sha256:2bb8"}}"#,
            r#"{"users": {"admin": "sha256:zzb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"}}"#,
            r#"{"users": {"a:b": "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"}}"#,
            r#"{"realm": "a\"b", "users": {"admin": "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"}}"#,
            r#"{"users": {"admin": "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"}, "extra": 1}"#,
        ] {
            assert!(Config::parse(json.as_bytes()).is_err(), "{json}");
        }
    }
}
