//! The plugin configuration: JSON, given by Envoy to `on_configure`.
//!
//! ```json
//! {"deny": ["10.0.0.0/8", "2001:db8::/32"]}
//! ```
//! An empty configuration denies the template's default list; `"deny": []`
//! denies nothing (the filter then only counts).

use std::net::IpAddr;

use serde::Deserialize;

use crate::cidr::{self, Cidr};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_deny")]
    deny: Vec<String>,
}

fn default_deny() -> Vec<String> {
    "{{ deny }}".split(',').map(|c| c.trim().to_string()).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub deny: Vec<Cidr>,
}

/// What to do with a new connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Its source is in this block.
    Deny(Cidr),
}

impl Config {
    /// Parses the configuration; empty means the defaults.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let deny = raw.deny.iter().map(|c| Cidr::parse(c)).collect::<Result<_, _>>()?;
        Ok(Config { deny })
    }

    /// The verdict for a connection from `source` (Envoy's `source.address`).
    /// A connection whose source is unknown or not an IP (a Unix socket) is allowed:
    /// it is in no block.
    pub fn verdict(&self, source: Option<&str>) -> Verdict {
        let Some(address) = source.and_then(cidr::parse_address) else { return Verdict::Allow };
        self.verdict_for(address)
    }

    fn verdict_for(&self, address: IpAddr) -> Verdict {
        match self.deny.iter().find(|block| block.contains(address)) {
            Some(block) => Verdict::Deny(*block),
            None => Verdict::Allow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_template() {
        let config = Config::parse(b"").unwrap();
        let expected: Vec<String> = "{{ deny }}".split(',').map(|c| Cidr::parse(c).unwrap().to_string()).collect();
        assert_eq!(config.deny.iter().map(Cidr::to_string).collect::<Vec<_>>(), expected);
    }

    #[test]
    fn verdicts() {
        let config = Config::parse(br#"{"deny": ["10.0.0.0/8", "2001:db8::/32"]}"#).unwrap();
        assert_eq!(config.verdict(Some("10.9.8.7:41000")), Verdict::Deny(Cidr::parse("10.0.0.0/8").unwrap()));
        assert_eq!(config.verdict(Some("[2001:db8::5]:443")), Verdict::Deny(Cidr::parse("2001:db8::/32").unwrap()));
        assert_eq!(config.verdict(Some("192.0.2.1:41000")), Verdict::Allow);
        assert_eq!(config.verdict(Some("/run/envoy.sock")), Verdict::Allow);
        assert_eq!(config.verdict(None), Verdict::Allow);
    }

    #[test]
    fn empty_list_denies_nothing() {
        let config = Config::parse(br#"{"deny": []}"#).unwrap();
        assert_eq!(config.verdict(Some("10.0.0.1:1")), Verdict::Allow);
    }

    #[test]
    fn refuses_bad_input() {
        assert!(Config::parse(br#"{"deny": ["10.0.0.0/99"]}"#).is_err());
        assert!(Config::parse(br#"{"deny": "10.0.0.0/8"}"#).is_err());
        assert!(Config::parse(br#"{"allow": []}"#).is_err());
    }
}
