//! The plugin configuration: JSON, given by Envoy to `on_configure`.
//!
//! ```json
//! {
//!   "request":  {"add": {"x-request-tag": "gw"}, "remove": ["x-internal"]},
//!   "response": {"add": {"{{ header }}": "{{ value }}"}, "remove": ["server"]}
//! }
//! ```
//! `add` appends a header; `set` replaces it; `remove` deletes it. Names are
//! lower-cased, as HTTP/2 and Envoy have them.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edits {
    #[serde(default)]
    pub add: BTreeMap<String, String>,
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub request: Edits,
    #[serde(default)]
    pub response: Edits,
}

impl Default for Config {
    /// With no configuration the filter tags responses with `{{ header }}: {{ value }}`.
    fn default() -> Self {
        let mut response = Edits::default();
        response.add.insert("{{ header }}".to_string(), "{{ value }}".to_string());
        Config { request: Edits::default(), response }
    }
}

impl Config {
    /// Parses the configuration; empty means the defaults.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Config::default());
        }
        let mut config: Config = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        for edits in [&mut config.request, &mut config.response] {
            edits.add = lower_keys(std::mem::take(&mut edits.add))?;
            edits.set = lower_keys(std::mem::take(&mut edits.set))?;
            for name in &mut edits.remove {
                check_name(name)?;
                *name = name.to_ascii_lowercase();
            }
        }
        Ok(config)
    }
}

fn lower_keys(map: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    map.into_iter()
        .map(|(k, v)| {
            check_name(&k)?;
            Ok((k.to_ascii_lowercase(), v))
        })
        .collect()
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(format!("'{name}' is not a header name")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_defaults() {
        let config = Config::parse(b"  ").unwrap();
        assert_eq!(config.response.add.get("{{ header }}").map(String::as_str), Some("{{ value }}"));
    }

    #[test]
    fn parses_and_lowercases() {
        let config = Config::parse(br#"{"request": {"set": {"X-Team": "edge"}, "remove": ["X-Internal"]}}"#).unwrap();
        assert_eq!(config.request.set.get("x-team").map(String::as_str), Some("edge"));
        assert_eq!(config.request.remove, ["x-internal"]);
        assert!(config.response.add.is_empty());
    }

    #[test]
    fn refuses_bad_input() {
        assert!(Config::parse(b"{").is_err());
        assert!(Config::parse(br#"{"request": {"add": {"bad name": "x"}}}"#).is_err());
        assert!(Config::parse(br#"{"unknown": {}}"#).is_err());
    }
}
