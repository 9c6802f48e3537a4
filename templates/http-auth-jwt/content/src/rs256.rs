//! RS256: RSASSA-PKCS1-v1_5 with SHA-256, checked against the issuer's public
//! keys. Verification only: no private key, no random numbers.

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rsa::PublicKey;

use crate::config::Config;

/// The `alg` header value this filter accepts.
pub const ALG: &str = "RS256";

pub struct Key {
    keys: Vec<VerifyingKey<Sha256>>,
}

impl Key {
    pub fn from_config(config: &Config) -> Result<Key, String> {
        if config.public_keys.is_empty() {
            return Err("public_keys is empty: give the issuer's RSA public keys in PEM".into());
        }
        let keys = config
            .public_keys
            .iter()
            .enumerate()
            .map(|(i, pem)| {
                let key = if pem.contains("BEGIN RSA PUBLIC KEY") {
                    PublicKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())
                } else {
                    PublicKey::from_public_key_pem(pem).map_err(|e| e.to_string())
                }
                .map_err(|e| format!("public_keys[{i}]: {e}"))?;
                // RFC 7518 §3.3: 2048 bits or more.
                if key.size() < 256 {
                    return Err(format!("public_keys[{i}]: {} bits is too small for RS256", key.size() * 8));
                }
                Ok(VerifyingKey::<Sha256>::new(key))
            })
            .collect::<Result<_, String>>()?;
        Ok(Key { keys })
    }

    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::try_from(signature) else { return false };
        self.keys.iter().any(|key| key.verify(signing_input, &signature).is_ok())
    }
}

/// Tokens signed with a 2048-bit key made once with `openssl genpkey`, all
/// with sub "alice", iss "https://issuer.example", aud "gw-demo".
#[cfg(test)]
pub mod test_vectors {
    pub const PUBLIC_KEY: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7am4MiAZ0rK9zPuYE2jW\n\
YQu0C9zXi2U5B9o7CpUQV7WvwnvI+uRg57vcyGzk7MMeMfMuSYOsAm9imuYUGAXw\n\
uItIzimEzAmt4jg8GUZhobwMg7yPVwsxo65rrlLkW4H3Kt3Yu3v7hmSDjdaal0+K\n\
YTheZbF+djZlck9Qapcyl5hL8I1C3EeKDIAyiui/XoYWjOZ6DwomYGYbbdidrhSX\n\
Ty7P9GelTkg/DcTP3M9q5GcSItkOJ8NQ9xf5hJOvNcSgyXJgRxAJGzfWIJJq7lUY\n\
O3THscVnqb6suV4g+thWtrUl+xIv4MyCGxGoAYueyfsyBDu+VV4BfEPd8KO9aoic\n\
UwIDAQAB\n\
-----END PUBLIC KEY-----\n";
    pub const GOOD: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.KKEQwsDtP-Ocr6uGEWnfPk9bLgtmgnRiLefba1n4dmv9M5eZUX5HSz8EZDMo0AA0AU65VAXMacjNXq2DQPeOU94kfelO0sb8y4EaQrwCX8n7fx-UGOj8R3v5Jp3p9Hjf8zqsgS68ZQmLnyw8ungdTMAcKX4xxoT-AvsI00xyzZP-s_gnWfQG2WlougqoozskQq1OV66BTP8Wv35kAHvliLh0ORo4XQJX76tuC6RFJjuXvszKFLqt-WKA3pyGYE5IKOClP35Kl0eI_t7AbBtHIiLfTrHd-yxby5E9mv2FIKcUew6P0IP5jJqMjo2bb3OAM8YTCpMZqcgX_A3aflP3LA";
    pub const EXPIRED: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6MTcwMDAwMDAwMH0.NjVeamGrBd7ebiFWARxgtZajEYIyrR39TKqor9aS30poPjws07DPRt5iCtAoNc5XlyHIGTNixgJY4yJh_dlV_fDWw4oYEE9G6tcFAfVwkLCEZtNWfS5ClvzGckmt-ERSrkift2TwDjKbF8-TmIHsKuZfkb8V9Q7Rc-0KqtEVFpkg_xHAQzk6EyuZQE7zlkHP33dWsluE8QqiJpLFEITtv6AC3dWlhTiNBX6M2491bTni5pq9x5dm-netKC-bDIofSo3OF-1uO3rqzJvIdhnWJFWxtSfdk0TJEQUCTHlTnv_OrtXBZ51Uf_tZn5NUGFzLe_b_vPfuuWfQ0y8NJGqbpw";
    pub const NOT_YET_VALID: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjo0MDAwMDAwMDAwfQ.byjDNKGX48ta3V0XgTXvQWAQRbB2vJv0VR_zzsvP8JHLA_M-LeTpiXrh88WfeQEzfpSaltFIriQh65XyomwLmaDqJfo6o72YCja7VJ1Zk7vVTIMLORVW3aN4yDxj1FUGQqI1UL31H-j9opUowF6m-6MHyKeONMzg2JEx0iCY4-ozDw_V4lv3uivm_g8EC7gXP-AvJ1fq6UUMgG7CRYQRpTssyTzfnOFpPUDJyMe4iofIoPQVUfZBE_SGyRL3D-KmKeKGoyT06SpSZ0Tk1HB07WvtWEdN1k28s8VLh7J6W_7y6TFgRcrXpQ0P4Ic9Nkbs5YMwAiCTosn24C--9_fibQ";
    pub const WITHIN_LEEWAY: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6MTc0OTk5OTk3MCwibmJmIjoxNzUwMDAwMDMwfQ.tIIu2tGjg5MRpDQjMYXZWLlwtDz8_f54Q_kn26806EpOWGL1DNfgUOhxGIIcE7pq8X2NJDVR_Cnf4C50SAujUSdbo0ieSsqM32ohTfhQEukz5U06YQaVeKznxdz2ekoLrnegxK_Wtbst7mnM2jt2gAugW2CZ83jio675EK8QRw9HIjY4KeKBT4tXPHaDxW1Yji8DJmtOAkxguselndYhJIdy4QxCVM1cq-Kqg82730LHBg4cARrhMcKGZ1os6NSuILoRwZt3Hd0nsaFdN7f1fE83dGug_7_-822emORpgHIT7iiNCYh0prppZcKjcKUWj1tIJZWImjn46mJcQ_bxbA";
    pub const NO_EXP: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.u8yMQXn_eVsZ7hYB8DPkByOl0ksEHkQgSY2_Rce9SmH9fezY86BPM4I1pSfq8xdj8ky0BtsM7MJiXTEpLv-GhhdlSP5p_ljUWsxZIkinpQ1yMCV0hgUFggrQWoq5yD9LudWszZP4_FzA3hhF3MoGCEbc7FBI1WK0TFCKVOj4i2HfW72Q6sJYeVOrZ2vshd-Zew2vUI7DwjmdFITL3RFc6hbJ7-adkMA4P-TWDvEYv1b6P-NNQtRNugLHGxXEitO6R2mBWHule-YUOT5ILniM3fR9likbgycisu7K8cpLLVsCkU9Oi42UgpjtatCrgUJbE5-QqWOE5uolkgyfKLkgmA";
    pub const WRONG_KEY: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiLCJhdWQiOiJndy1kZW1vIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiYWRtaW4iOnRydWUsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.kozqS8F5xH2HFxumceczK72v0_HgDDqHr19XPr7-MGTk6CfJ5h-ruYitE6HSv0Qjil-iW8Thgz5tvqlE5-ijvLBCBKA6J9uqCdQBc1XsDZ9kgkypoxCECsyn5cl8dJKGUTEMhCpTuqAzN0kfogrpal9gl2umPwPuEyVkrgbRUi6yo4K1Y5DjDfG5Y97AzqSSfcA2H7bF_lmCCsXo3j2Ko1ZhVcNGgCkEQpG0qTzMOOkMN5cpWQq6hHLAFj3DRtI9qA0Pt_RpTDK6dtubyVor-s5IuDNrfaPtP_WADp9Z8-h60xoJl3p2QAq8RfuuY1SezbZ6Bg086OsC-js4dHjnXA";
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
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    #[test]
    fn bad_keys_are_refused() {
        for json in [r#"{}"#, r#"{"public_keys": ["not a key"]}"#] {
            let config = Config::parse(json.as_bytes()).unwrap();
            assert!(Key::from_config(&config).is_err(), "{json}");
        }
    }

    #[test]
    fn signatures_of_the_wrong_length_are_refused() {
        let config = Config::parse(test_vectors::config("").as_bytes()).unwrap();
        let key = Key::from_config(&config).unwrap();
        assert!(!key.verify(b"x", &[0; 7]));
        assert!(!key.verify(b"x", &[]));
    }

    #[test]
    fn pkcs1_keys_are_read_too() {
        // The same test key, as `openssl rsa -pubin -RSAPublicKey_out` writes it.
        const PKCS1: &str = "\
-----BEGIN RSA PUBLIC KEY-----\n\
MIIBCgKCAQEA7am4MiAZ0rK9zPuYE2jWYQu0C9zXi2U5B9o7CpUQV7WvwnvI+uRg\n\
57vcyGzk7MMeMfMuSYOsAm9imuYUGAXwuItIzimEzAmt4jg8GUZhobwMg7yPVwsx\n\
o65rrlLkW4H3Kt3Yu3v7hmSDjdaal0+KYTheZbF+djZlck9Qapcyl5hL8I1C3EeK\n\
DIAyiui/XoYWjOZ6DwomYGYbbdidrhSXTy7P9GelTkg/DcTP3M9q5GcSItkOJ8NQ\n\
9xf5hJOvNcSgyXJgRxAJGzfWIJJq7lUYO3THscVnqb6suV4g+thWtrUl+xIv4MyC\n\
GxGoAYueyfsyBDu+VV4BfEPd8KO9aoicUwIDAQAB\n\
-----END RSA PUBLIC KEY-----\n";
        let json = String::from(r#"{"public_keys": ["#) + &serde_json::to_string(PKCS1).unwrap() + "]}";
        let key = Key::from_config(&Config::parse(json.as_bytes()).unwrap()).unwrap();
        let (input, signature) = test_vectors::GOOD.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!(key.verify(input.as_bytes(), &signature));
    }
}
