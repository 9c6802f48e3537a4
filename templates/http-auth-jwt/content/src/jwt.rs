//! Decoding and checking a compact JWS (RFC 7515) carrying JWT claims
//! (RFC 7519): the signature first, then `exp`, `nbf`, `iss` and `aud`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::key::{Key, ALG};

/// Longer tokens are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a token was refused. The text goes to the client in
/// `error_description`, so it names the check, never the token's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Malformed,
    Algorithm,
    Signature,
    Expired,
    NotYetValid,
    MissingExp,
    Issuer,
    Audience,
}

impl Invalid {
    pub fn description(self) -> &'static str {
        match self {
            Invalid::Malformed => "malformed token",
            Invalid::Algorithm => "unexpected algorithm",
            Invalid::Signature => "bad signature",
            Invalid::Expired => "token expired",
            Invalid::NotYetValid => "token not yet valid",
            Invalid::MissingExp => "token has no expiry",
            Invalid::Issuer => "wrong issuer",
            Invalid::Audience => "wrong audience",
        }
    }
}

/// Checks `token` at `now` (seconds since the Unix epoch) and returns its claims.
pub fn validate(token: &str, key: &Key, config: &Config, now: u64) -> Result<Map<String, Value>, Invalid> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Invalid::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid::Malformed);
    };

    let header = decode_object(header)?;
    // The algorithm is fixed by the configuration, never chosen by the token:
    // this is what stops `alg: none` and HS256-with-the-public-key tricks.
    if header.get("alg").and_then(Value::as_str) != Some(ALG) {
        return Err(Invalid::Algorithm);
    }
    // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
    if header.contains_key("crit") {
        return Err(Invalid::Malformed);
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| Invalid::Malformed)?;
    let signing_input = &token[..signed_len(token)];
    if !key.verify(signing_input.as_bytes(), &signature) {
        return Err(Invalid::Signature);
    }

    let claims = decode_object(payload)?;
    let leeway = config.leeway_seconds as f64;
    let now = now as f64;
    match numeric_date(&claims, "exp")? {
        Some(exp) if now >= exp + leeway => return Err(Invalid::Expired),
        None if config.require_exp => return Err(Invalid::MissingExp),
        _ => {}
    }
    if let Some(nbf) = numeric_date(&claims, "nbf")? {
        if now + leeway < nbf {
            return Err(Invalid::NotYetValid);
        }
    }
    if let Some(issuer) = &config.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(Invalid::Issuer);
        }
    }
    if !config.audiences.is_empty() {
        let named = |aud: &str| config.audiences.iter().any(|a| a == aud);
        let ok = match claims.get("aud") {
            Some(Value::String(aud)) => named(aud),
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(named),
            _ => false,
        };
        if !ok {
            return Err(Invalid::Audience);
        }
    }
    Ok(claims)
}

/// The signed part: header and payload with the dot between them.
fn signed_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_object(part: &str) -> Result<Map<String, Value>, Invalid> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| Invalid::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Invalid::Malformed),
    }
}

/// A NumericDate claim: seconds, possibly fractional. Present but not a number is malformed.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, Invalid> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value.as_f64().map(Some).ok_or(Invalid::Malformed),
    }
}

/// A claim's value as a header value: strings as they are, other JSON as JSON.
/// `None` when it would not be a safe header value (control characters).
pub fn header_value(claim: &Value) -> Option<String> {
    let text = match claim {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let safe = text.chars().all(|c| c == '\t' || !c.is_control());
    safe.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::test_vectors as v;

    /// The unit tests' clock: 2025-06-15, between the vectors' nbf and exp.
    pub const NOW: u64 = 1_750_000_000;

    fn setup(extra: &str) -> (Key, Config) {
        let config = Config::parse(v::config(extra).as_bytes()).unwrap();
        (Key::from_config(&config).unwrap(), config)
    }

    fn check(token: &str, extra: &str) -> Result<Map<String, Value>, Invalid> {
        let (key, config) = setup(extra);
        validate(token, &key, &config, NOW)
    }

    #[test]
    fn good_token() {
        let claims = check(v::GOOD, "").unwrap();
        assert_eq!(claims["sub"], "alice");
    }

    #[test]
    fn bad_signatures() {
        assert_eq!(check(v::WRONG_KEY, ""), Err(Invalid::Signature));
        // The payload of another token under this token's signature.
        let good: Vec<&str> = v::GOOD.split('.').collect();
        let other: Vec<&str> = v::EXPIRED.split('.').collect();
        let spliced = format!("{}.{}.{}", good[0], other[1], good[2]);
        assert_eq!(check(&spliced, ""), Err(Invalid::Signature));
    }

    #[test]
    fn algorithm_is_not_the_tokens_choice() {
        assert_eq!(check(v::ALG_NONE, ""), Err(Invalid::Algorithm));
    }

    #[test]
    fn time_claims() {
        assert_eq!(check(v::EXPIRED, ""), Err(Invalid::Expired));
        assert_eq!(check(v::NOT_YET_VALID, ""), Err(Invalid::NotYetValid));
        // exp 30 s ago and nbf in 30 s: inside the 60 s leeway, outside a 10 s one.
        assert!(check(v::WITHIN_LEEWAY, "").is_ok());
        assert_eq!(check(v::WITHIN_LEEWAY, r#", "leeway_seconds": 10"#), Err(Invalid::Expired));
        assert_eq!(check(v::NO_EXP, ""), Err(Invalid::MissingExp));
        assert!(check(v::NO_EXP, r#", "require_exp": false"#).is_ok());
    }

    #[test]
    fn issuer_and_audience() {
        assert!(check(v::GOOD, r#", "issuer": "https://issuer.example", "audiences": ["x", "gw-demo"]"#).is_ok());
        assert_eq!(check(v::GOOD, r#", "issuer": "https://other.example""#), Err(Invalid::Issuer));
        assert_eq!(check(v::GOOD, r#", "audiences": ["x"]"#), Err(Invalid::Audience));
    }

    #[test]
    fn malformed() {
        for token in ["", "a.b", "a.b.c.d", "!!.!!.!!", &format!("{}x", v::GOOD), &"a".repeat(MAX_TOKEN_LEN + 1)] {
            assert!(check(token, "").is_err(), "{token:.40}");
        }
    }

    #[test]
    fn header_values() {
        assert_eq!(header_value(&Value::from("alice")).as_deref(), Some("alice"));
        assert_eq!(header_value(&Value::from(true)).as_deref(), Some("true"));
        assert_eq!(header_value(&serde_json::json!(["a", "b"])).as_deref(), Some(r#"["a","b"]"#));
        assert_eq!(header_value(&Value::from("evil\r\nx-admin: 1")), None);
    }
}
