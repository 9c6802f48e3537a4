//! ES256 keys for the JWT tests.

/// An ES256 key for the JWT tests: its JWKS, and tokens it signs.
pub struct Signer {
    key: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl Signer {
    pub fn new() -> Signer {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        Signer { key, rng }
    }

    pub fn jwks(&self) -> String {
        use base64::Engine;
        use ring::signature::KeyPair;
        let point = self.key.public_key().as_ref(); // 0x04 || x || y
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "gw",
            "x": b64(&point[1..33]), "y": b64(&point[33..65])}]})
        .to_string()
    }

    pub fn token(&self, claims: serde_json::Value) -> String {
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let input =
            format!("{}.{}", b64(br#"{"alg":"ES256","typ":"JWT","kid":"gw"}"#), b64(claims.to_string().as_bytes()));
        let signature = self.key.sign(&self.rng, input.as_bytes()).unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }
}
