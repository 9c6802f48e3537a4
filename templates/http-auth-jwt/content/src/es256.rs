//! ES256: ECDSA on P-256 with SHA-256, checked against the issuer's public
//! keys. Verification only: no private key, no random numbers.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;

use crate::config::Config;

/// The `alg` header value this filter accepts.
pub const ALG: &str = "ES256";

pub struct Key {
    keys: Vec<VerifyingKey>,
}

impl Key {
    pub fn from_config(config: &Config) -> Result<Key, String> {
        if config.public_keys.is_empty() {
            return Err("public_keys is empty: give the issuer's P-256 public keys in PEM".into());
        }
        let keys = config
            .public_keys
            .iter()
            .enumerate()
            .map(|(i, pem)| VerifyingKey::from_public_key_pem(pem).map_err(|e| format!("public_keys[{i}]: {e}")))
            .collect::<Result<_, String>>()?;
        Ok(Key { keys })
    }

    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        // JWS carries r and s as 32 bytes each (RFC 7518 §3.4), not DER.
        let Ok(signature) = Signature::from_slice(signature) else { return false };
        self.keys.iter().any(|key| key.verify(signing_input, &signature).is_ok())
    }
}

/// Tokens signed with a P-256 key made once with `openssl genpkey`, all
/// with sub "alice", iss "https://issuer.example", aud "gw-demo".
#[cfg(test)]
pub mod test_vectors {
    pub const PUBLIC_KEY: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEULzsWsofuYFRnU6l/2wERO08iRl4\n\
1Js01lhMH0y+uF5gOOt5bvxiXG0LYuFLdW44dpm/5E47EAp8HF1uQGC+Yw==\n\
-----END PUBLIC KEY-----\n";
    pub const GOOD: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.p6CI8Gu3pM62apl0ZdrQ6UgThoabSk1OAR9FTCvZRlnlBHI1T6AGslnrU8I1znhHVuCGNZ1tMHnDd7r9An64ug";
    pub const EXPIRED: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6MTcwMDAwMDAwMH0.3F7KwUfx2ygxqjdl6Zrfd21Z9nXENbQUaOYBNjA9I7UCTIPwt_RfHd6Q8u2B7tkGLVo_i7jCWjM_YJQbANpcMg";
    pub const NOT_YET_VALID: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjo0MDAwMDAwMDAwfQ.wqw5y9rOcxpKp287vOrjAQ87c1SWnYTHit2DzlG6LqydGWu5nqZ_X2frOwgMJ1jXTf5KyOP8vpjdw88tasZAXg";
    pub const WITHIN_LEEWAY: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6MTc0OTk5OTk3MCwibmJmIjoxNzUwMDAwMDMwfQ.CXI5soOjB1GFn12DyzvlCDYYB1q355KTP08QX0Mn-9-L2EXdgWDLW-PiTa4WiJYat59-H8ifARo0gxeVeGgErQ";
    pub const NO_EXP: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.rQLmBfBmlrJ6NlUvdlKnK37PipoQlAj7vAw4KG4dKf6TvwWfMBa_5qzb3hvcDfQlMHYJF6GlwRyYQaeo06_zrg";
    pub const WRONG_KEY: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.cJQ3eWnYw2CnSLBNTRLzdmytfikh-9ijI625IZ29vQHGeJESxvafy-3l-5nEGE6VcSV-STR--P1gcJFDNj244A";
    pub const ALG_NONE: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.";

    /// A configuration with the test key, plus `extra` (`, "key": value` pairs).
    pub fn config(extra: &str) -> String {
        let mut json = String::from(r#"{"public_keys": ["#);
        json.push_str(&serde_json::to_string(PUBLIC_KEY).unwrap());
        json.push(']');
        json.push_str(extra);
        json.push('}');
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_refused() {
        for json in [r#"{}"#, r#"{"public_keys": ["not a key"]}"#] {
            let config = Config::parse(json.as_bytes()).unwrap();
            assert!(Key::from_config(&config).is_err(), "{json}");
        }
    }

    #[test]
    fn der_signatures_are_refused() {
        let config = Config::parse(test_vectors::config("").as_bytes()).unwrap();
        let key = Key::from_config(&config).unwrap();
        assert!(!key.verify(b"x", &[0x30; 70]));
        assert!(!key.verify(b"x", &[]));
    }
}
