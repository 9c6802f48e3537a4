//! A development JWT issuer for a new project: an ES256 key made once, its public half written
//! as the project's JWKS and its private half used for one token, then dropped. Like the
//! development CA, nothing else can ever be signed with it: replace the JWKS with your
//! identity provider's (or set `jwks_uri`) when real tokens come.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

/// What the token says.
#[derive(Debug, Clone)]
pub struct Claims {
    pub issuer: String,
    pub audience: String,
    pub subject: String,
    /// Seconds since the epoch.
    pub issued_at: u64,
    pub expires_at: u64,
}

/// The JWKS (pretty JSON) and a token it verifies.
#[derive(Debug, Clone)]
pub struct DevJwt {
    pub jwks: String,
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
#[error("making the development JWT key failed: {0}")]
pub struct Error(String);

/// A new key, its JWKS and one token with `claims`.
pub fn generate(claims: &Claims) -> Result<DevJwt, Error> {
    let rng = SystemRandom::new();
    let failed = |what: &str| Error(what.to_string());
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|_| failed("generate"))?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| failed("read the new key"))?;
    // An uncompressed P-256 point: 0x04, then x and y, 32 bytes each.
    let point = key.public_key().as_ref();
    let (x, y) = point.get(1..33).zip(point.get(33..65)).ok_or_else(|| failed("public key size"))?;
    let kid = "gw-dev";
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    }]});
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let payload = serde_json::json!({
        "iss": claims.issuer, "aud": claims.audience, "sub": claims.subject,
        "iat": claims.issued_at, "exp": claims.expires_at,
    });
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload.to_string()));
    let signature = key.sign(&rng, signing_input.as_bytes()).map_err(|_| failed("sign"))?;
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()));
    let jwks = serde_json::to_string_pretty(&jwks).map_err(|e| Error(e.to_string()))? + "\n";
    Ok(DevJwt { jwks, token: token + "\n" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn the_token_verifies_with_the_jwks_and_says_what_was_asked() {
        let claims = Claims {
            issuer: "https://issuer.example".into(),
            audience: "shop".into(),
            subject: "dev".into(),
            issued_at: 1_000,
            expires_at: 2_000,
        };
        let made = generate(&claims).unwrap();
        let jwks: serde_json::Value = serde_json::from_str(&made.jwks).unwrap();
        let key = &jwks["keys"][0];
        let mut point = vec![4u8];
        for part in ["x", "y"] {
            point.extend(URL_SAFE_NO_PAD.decode(key[part].as_str().unwrap()).unwrap());
        }
        let token = made.token.trim_end();
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).verify(input.as_bytes(), &signature).unwrap();
        let payload = input.split('.').nth(1).unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(payload["iss"], "https://issuer.example");
        assert_eq!((payload["aud"].as_str(), payload["sub"].as_str()), (Some("shop"), Some("dev")));
        assert_eq!((payload["iat"].as_u64(), payload["exp"].as_u64()), (Some(1_000), Some(2_000)));
        // Another key's token does not verify with this JWKS.
        let other = generate(&claims).unwrap();
        let (other_input, other_signature) = other.token.trim_end().rsplit_once('.').unwrap();
        let other_signature = URL_SAFE_NO_PAD.decode(other_signature).unwrap();
        let verified =
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).verify(other_input.as_bytes(), &other_signature);
        assert!(verified.is_err());
    }
}
