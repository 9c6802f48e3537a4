//! HS256: HMAC with SHA-256 over a secret shared with the token issuer.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::Config;

/// The `alg` header value this filter accepts.
pub const ALG: &str = "HS256";

pub struct Key {
    secret: Vec<u8>,
}

impl Key {
    pub fn from_config(config: &Config) -> Result<Key, String> {
        // RFC 7518 §3.2: the key must be at least as long as the hash output.
        if config.secret.len() < 32 {
            return Err(format!("secret must be at least 32 bytes for HS256 (it has {})", config.secret.len()));
        }
        Ok(Key { secret: config.secret.as_bytes().to_vec() })
    }

    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts keys of any length");
        mac.update(signing_input);
        // Constant-time comparison.
        mac.verify_slice(signature).is_ok()
    }
}

/// Tokens signed by the test secret (made with Python's hmac module), all
/// with sub "alice", iss "https://issuer.example", aud "gw-demo".
#[cfg(test)]
pub mod test_vectors {
    pub const SECRET: &str = "gw-test-secret-0123456789abcdefgh";
    pub const GOOD: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.C7zWysjSoh0qZOA8Ocg_1ThRCwMxQMQb_HLwMSmTPb8";
    pub const EXPIRED: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6MTcwMDAwMDAwMH0.HQlhbKbhbVqwV6cyHMlfoT1jCR_xOzi9ERKAQU7uHG4";
    pub const NOT_YET_VALID: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjo0MDAwMDAwMDAwfQ.PzQWk_6-awLpbXrGbQ5CxZSfKKBbTDyyNra9lB29iik";
    pub const WITHIN_LEEWAY: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6MTc0OTk5OTk3MCwibmJmIjoxNzUwMDAwMDMwfQ.jT8jr56r_N0fBqYjcPAdmT7g86gIkhtbCw55In9C3bI";
    pub const NO_EXP: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.K4r4v3Ld4RyOjm44c3-YkXlgCZ_0xEcJDtatQ3rwzuM";
    pub const WRONG_KEY: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.zmx13sypxJp-CgiXAEKIejzdIGBPuKkZsxoI51xDuhg";
    pub const ALG_NONE: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.";

    /// A configuration with the test secret, plus `extra` (`, "key": value` pairs).
    pub fn config(extra: &str) -> String {
        let mut json = String::from(r#"{"secret": ""#);
        json.push_str(SECRET);
        json.push('"');
        json.push_str(extra);
        json.push('}');
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused() {
        let config = Config::parse(br#"{"secret": "too short"}"#).unwrap();
        assert!(Key::from_config(&config).is_err());
        let config = Config::parse(b"{}").unwrap();
        assert!(Key::from_config(&config).is_err());
    }
}
