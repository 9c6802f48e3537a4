//! The plugin configuration: JSON, given by Envoy to `on_configure`.
//!
//! ```json
//! {"fields": ["method", "path", "status"], "request_headers": ["x-request-id", "x-tenant"]}
//! ```
//! `fields` are written in the order given (default: {{ fields }});
//! `request_headers` adds request headers after them, keyed by their names.
//! An empty configuration means the defaults.

use serde::Deserialize;

use crate::record::Field;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_fields")]
    fields: Vec<String>,
    #[serde(default)]
    request_headers: Vec<String>,
}

fn default_fields() -> Vec<String> {
    "{{ fields }}".split(',').map(str::to_string).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub fields: Vec<Field>,
    /// Lower-cased header names.
    pub request_headers: Vec<String>,
}

impl Config {
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let fields: Vec<Field> = raw.fields.iter().map(|f| Field::parse(f)).collect::<Result<_, _>>()?;
        let mut request_headers = Vec::new();
        for name in raw.request_headers {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(format!("'{name}' is not a header name"));
            }
            let name = name.to_ascii_lowercase();
            if fields.iter().any(|f| f.name() == name) || request_headers.contains(&name) {
                return Err(format!("'{name}' would appear twice in the line"));
            }
            request_headers.push(name);
        }
        Ok(Config { fields, request_headers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = Config::parse(b"").unwrap();
        let names: Vec<&str> = config.fields.iter().map(|f| f.name()).collect();
        assert_eq!(names.join(","), "{{ fields }}");
        assert!(config.request_headers.is_empty());
    }

    #[test]
    fn parses() {
        let config = Config::parse(br#"{"fields": ["status", "method"], "request_headers": ["X-Tenant"]}"#).unwrap();
        assert_eq!(config.fields, [Field::Status, Field::Method]);
        assert_eq!(config.request_headers, ["x-tenant"]);
    }

    #[test]
    fn refuses_bad_input() {
        for json in [
            r#"{"fields": ["latency"]}"#,
            r#"{"request_headers": ["bad header"]}"#,
            r#"{"fields": ["method"], "request_headers": ["method"]}"#,
            r#"{"request_headers": ["x-a", "X-A"]}"#,
            r#"{"format": "json"}"#,
        ] {
            assert!(Config::parse(json.as_bytes()).is_err(), "{json}");
        }
    }
}
