//! The plugin configuration: JSON, given by Envoy to `on_configure`.
//!
//! ```json
//! {"requests_per_unit": 60, "unit": "minute", "burst": 60, "domain": "{{ project_name }}"}
//! ```
//! Every key may be left out; the values above are the defaults. `unit` is
//! `second`, `minute`, `hour` or `day`; `burst` (the bucket's size) defaults
//! to `requests_per_unit`; `domain` prefixes the shared-data keys, so that
//! two filters with different limits in one Envoy keep separate buckets.

use serde::Deserialize;

use crate::bucket::Limit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Second,
    Minute,
    Hour,
    Day,
}

impl Unit {
    pub fn millis(self) -> u64 {
        match self {
            Unit::Second => 1_000,
            Unit::Minute => 60_000,
            Unit::Hour => 3_600_000,
            Unit::Day => 86_400_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_requests")]
    requests_per_unit: u64,
    #[serde(default = "default_unit")]
    unit: Unit,
    #[serde(default)]
    burst: Option<u64>,
    #[serde(default = "default_domain")]
    domain: String,
}

fn default_requests() -> u64 {
    60
}

fn default_unit() -> Unit {
    Unit::Minute
}

fn default_domain() -> String {
    "{{ project_name }}".to_string()
}

/// Large enough for any real limit, small enough that token-milliseconds
/// (burst × a day in ms) fit in 64 bits.
const MAX_REQUESTS: u64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub limit: Limit,
    pub domain: String,
}

impl Config {
    /// Parses the configuration; empty means the defaults.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let burst = raw.burst.unwrap_or(raw.requests_per_unit);
        for (name, value) in [("requests_per_unit", raw.requests_per_unit), ("burst", burst)] {
            if !(1..=MAX_REQUESTS).contains(&value) {
                return Err(format!("{name} must be between 1 and {MAX_REQUESTS}, not {value}"));
            }
        }
        if raw.domain.is_empty() {
            return Err("domain is empty".into());
        }
        let limit = Limit { requests_per_unit: raw.requests_per_unit, unit_ms: raw.unit.millis(), burst };
        Ok(Config { limit, domain: raw.domain })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = Config::parse(b"").unwrap();
        assert_eq!(config.limit, Limit { requests_per_unit: 60, unit_ms: 60_000, burst: 60 });
        assert_eq!(config.domain, "{{ project_name }}");
    }

    #[test]
    fn parses() {
        let config = Config::parse(br#"{"requests_per_unit": 5, "unit": "second", "burst": 20}"#).unwrap();
        assert_eq!(config.limit, Limit { requests_per_unit: 5, unit_ms: 1_000, burst: 20 });
    }

    #[test]
    fn refuses_bad_input() {
        for json in [
            r#"{"requests_per_unit": 0}"#,
            r#"{"requests_per_unit": -1}"#,
            r#"{"requests_per_unit": 5, "burst": 0}"#,
            r#"{"requests_per_unit": 2000000000}"#,
            r#"{"unit": "week"}"#,
            r#"{"domain": ""}"#,
            r#"{"rate": 5}"#,
        ] {
            assert!(Config::parse(json.as_bytes()).is_err(), "{json}");
        }
    }
}
