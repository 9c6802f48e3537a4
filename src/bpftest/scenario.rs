//! Packet scenarios of an eBPF project (`scenarios/*.yaml`): maps preloaded,
//! packets in, the program's verdict, the packet out and the maps after.
//!
//! ```yaml
//! program: xdp_policy
//! maps:
//!   BLOCKLIST:
//!     - {key: {ipv4: 10.200.0.1}, value: {u32: 1}}
//! cases:
//!   - name: a blocked source is dropped
//!     packet: {ipv4: {src: 10.200.0.1, dst: 10.200.0.2}, icmp: {}}
//!     expect:
//!       verdict: XDP_DROP
//!       maps:
//!         VERDICTS: [{key: {u32: 1}, value: {u64: 1}}]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::packet::PacketSpec;
use super::value::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The program's function name; optional when the object has one program that can be run.
    pub program: Option<String>,
    /// Entries written into the maps before every case.
    #[serde(default)]
    pub maps: BTreeMap<String, Vec<Entry>>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub key: Value,
    /// For per-CPU maps, the value of CPU 0 (the others start at zero); after a case, the
    /// expected sum over CPUs (lane by lane, for a struct of counters).
    pub value: Option<Value>,
    /// After a case: the key must not be in the map.
    #[serde(default)]
    pub absent: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// Overrides the file's program for this case.
    pub program: Option<String>,
    pub packet: PacketSpec,
    /// More entries, written after the file's.
    #[serde(default)]
    pub maps: BTreeMap<String, Vec<Entry>>,
    /// Runs the packet through the program this many times in one BPF_PROG_TEST_RUN.
    #[serde(default = "once")]
    pub repeat: u32,
    pub expect: Expect,
}

fn once() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The program's return value by its kernel name (`XDP_DROP`, `TC_ACT_SHOT`, `ALLOW`, …)
    /// or as a number (a socket filter's length to keep; 0 drops).
    pub verdict: Expected,
    /// The packet as the program left it.
    pub packet: Option<PacketSpec>,
    /// Entries the maps hold after the case.
    #[serde(default)]
    pub maps: BTreeMap<String, Vec<Entry>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expected {
    Number(u32),
    Name(String),
}

impl Scenario {
    pub fn from_yaml(text: &str) -> Result<Scenario, String> {
        crate::yaml_depth::check(text).map_err(|e| e.to_string())?;
        let scenario: Scenario = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        if scenario.cases.is_empty() {
            return Err("it has no cases: add at least one under `cases:`".into());
        }
        for (i, case) in scenario.cases.iter().enumerate() {
            if case.repeat == 0 {
                return Err(format!("cases[{i}] ({}): repeat is 0; a case runs at least once", case.name));
            }
        }
        Ok(scenario)
    }

    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = fs_err::read_to_string(path).map_err(|e| e.to_string())?;
        Scenario::from_yaml(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_form_reads() {
        let text = include_str!("scenario.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! "))
            .skip_while(|l| !l.starts_with("program:"))
            .take_while(|l| !l.starts_with("```"))
            .collect::<Vec<_>>()
            .join("\n");
        let scenario = Scenario::from_yaml(&text).unwrap();
        assert_eq!(scenario.program.as_deref(), Some("xdp_policy"));
        assert_eq!(scenario.cases[0].repeat, 1);
        assert!(matches!(&scenario.cases[0].expect.verdict, Expected::Name(n) if n == "XDP_DROP"));
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let error = Scenario::from_yaml("cases:\n  - name: x\n    pakket: {}\n").unwrap_err();
        assert!(error.contains("pakket") && error.contains("line 3"), "{error}");
        assert!(Scenario::from_yaml("cases: []\n").unwrap_err().contains("no cases"));
        let zero = "cases:\n  - {name: x, packet: {hex: ff}, repeat: 0, expect: {verdict: 1}}\n";
        assert!(Scenario::from_yaml(zero).unwrap_err().contains("repeat is 0"));
    }
}
