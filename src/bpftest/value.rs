//! Map keys and values as a scenario writes them: typed fields (addresses,
//! ports, integers, bytes) laid out the way the program reads them.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

/// One field, or several laid end to end (a struct key: `[{ipv4: 10.0.0.1}, {port: 80}]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Value {
    One(Field),
    Many(Vec<Field>),
}

/// A field with its layout in its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Field {
    /// Four bytes as on the wire (network byte order).
    Ipv4(Ipv4Addr),
    /// Sixteen bytes as on the wire.
    Ipv6(Ipv6Addr),
    /// Two bytes, network byte order (as in a TCP or UDP header).
    Port(u16),
    /// Integers in the CPU's order, as a program's `u32` key or `u64` counter.
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    /// Integers in network byte order.
    Be16(u16),
    Be32(u32),
    /// Raw bytes, e.g. `"0a c8 00 01"` (spaces and colons ignored).
    Hex(String),
}

impl Value {
    /// A value written on the command line: `ipv4:10.200.1.2`, `u32:1`, `hex:"0a 00"`, or YAML
    /// as in a scenario (`[{ipv4: 10.0.0.1}, {port: 80}]`).
    pub fn from_arg(text: &str) -> Result<Value, String> {
        let yaml = match text.trim_start().chars().next() {
            Some('{' | '[') => serde_norway::from_str(text),
            _ => {
                let (kind, scalar) = text.split_once(':').ok_or_else(|| {
                    format!("{text:?} names no type: write TYPE:VALUE, e.g. ipv4:10.200.1.2 or u32:1")
                })?;
                let scalar = serde_norway::from_str::<serde_norway::Value>(scalar)
                    .ok()
                    .filter(|v| v.is_number())
                    .unwrap_or_else(|| serde_norway::Value::String(scalar.to_string()));
                let mut mapping = serde_norway::Mapping::new();
                mapping.insert(kind.into(), scalar);
                serde_norway::from_value(serde_norway::Value::Mapping(mapping))
            }
        };
        yaml.map_err(|e| {
            format!("{text:?} is not a value gw can lay out ({e}); types: ipv4, ipv6, port, u8, u16, u32, u64, be16, be32, hex")
        })
    }

    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        let fields = match self {
            Value::One(field) => std::slice::from_ref(field),
            Value::Many(fields) => fields.as_slice(),
        };
        let mut out = Vec::new();
        for field in fields {
            out.extend(field.bytes()?);
        }
        Ok(out)
    }
}

impl Field {
    fn bytes(&self) -> Result<Vec<u8>, String> {
        Ok(match self {
            Field::Ipv4(a) => a.octets().to_vec(),
            Field::Ipv6(a) => a.octets().to_vec(),
            Field::Port(p) | Field::Be16(p) => p.to_be_bytes().to_vec(),
            Field::U8(n) => vec![*n],
            Field::U16(n) => n.to_ne_bytes().to_vec(),
            Field::U32(n) => n.to_ne_bytes().to_vec(),
            Field::U64(n) => n.to_ne_bytes().to_vec(),
            Field::Be32(n) => n.to_be_bytes().to_vec(),
            Field::Hex(text) => hex(text)?,
        })
    }
}

/// `"0a c8:00 01"` → bytes; spaces, colons and newlines are ignored.
pub fn hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b':').collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex {text:?} has an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).unwrap_or("");
            u8::from_str_radix(pair, 16).map_err(|_| format!("hex {text:?}: {pair:?} is not a hex byte"))
        })
        .collect()
}

/// Bytes as `0a c8 00 01`, the form [`hex`] reads.
pub fn spaced_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// Per-CPU values added up: counters and structs of counters, lane by lane (8-byte lanes, or
/// 4, 2, 1 when the value's size is not a multiple of 8), wrapping as the counters would.
pub fn sum_over_cpus(cpus: &[Vec<u8>]) -> Vec<u8> {
    let size = cpus.first().map_or(0, Vec::len);
    let lane = [8, 4, 2, 1].into_iter().find(|l| size.is_multiple_of(*l)).unwrap_or(1);
    let mut sum = vec![0u8; size];
    for at in (0..size).step_by(lane) {
        let total = cpus.iter().fold(0u64, |acc, cpu| acc.wrapping_add(as_integer(&cpu[at..at + lane])));
        sum[at..at + lane].copy_from_slice(&total.to_le_bytes()[..lane]);
    }
    sum
}

/// Little-endian unsigned value of up to 8 bytes (the CPU's order on the machines BPF runs
/// on here), for summing per-CPU counters.
pub fn as_integer(bytes: &[u8]) -> u64 {
    let mut wide = [0u8; 8];
    let n = bytes.len().min(8);
    wide[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(wide)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(yaml: &str) -> Value {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn fields_are_laid_out_as_programs_read_them() {
        assert_eq!(value("{ipv4: 10.200.0.1}").bytes().unwrap(), [10, 200, 0, 1]);
        assert_eq!(value("{port: 80}").bytes().unwrap(), [0, 80]);
        assert_eq!(value("{u32: 1}").bytes().unwrap(), 1u32.to_ne_bytes());
        assert_eq!(
            value("[{ipv4: 1.2.3.4}, {port: 443}, {hex: 'ff 00'}]").bytes().unwrap(),
            [1, 2, 3, 4, 1, 187, 255, 0]
        );
        assert_eq!(value("{ipv6: '::1'}").bytes().unwrap().len(), 16);
        assert_eq!(as_integer(&7u64.to_le_bytes()), 7);
        let cpus =
            [[1u64.to_le_bytes(), 60u64.to_le_bytes()].concat(), [2u64.to_le_bytes(), 4u64.to_le_bytes()].concat()];
        assert_eq!(sum_over_cpus(&cpus), [3u64.to_le_bytes(), 64u64.to_le_bytes()].concat(), "lane by lane");
        assert_eq!(sum_over_cpus(&[vec![1, 0, 0, 0], vec![2, 0, 0, 0]]), [3, 0, 0, 0]);
    }

    #[test]
    fn command_line_values_name_their_type() {
        assert_eq!(Value::from_arg("ipv4:10.200.1.2").unwrap().bytes().unwrap(), [10, 200, 1, 2]);
        assert_eq!(Value::from_arg("u32:1").unwrap().bytes().unwrap(), 1u32.to_ne_bytes());
        assert_eq!(Value::from_arg("ipv6:2001:db8::1").unwrap().bytes().unwrap().len(), 16);
        assert_eq!(Value::from_arg("hex:0a 00").unwrap().bytes().unwrap(), [10, 0]);
        assert_eq!(Value::from_arg("[{u8: 1}, {port: 80}]").unwrap().bytes().unwrap(), [1, 0, 80]);
        assert!(Value::from_arg("10.0.0.1").unwrap_err().contains("TYPE:VALUE"));
        assert!(Value::from_arg("colour:red").unwrap_err().contains("types: ipv4"));
        assert!(Value::from_arg("u8:300").is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(serde_norway::from_str::<Value>("{ipv4: 10.200.0}").is_err());
        assert!(serde_norway::from_str::<Value>("{colour: red}").is_err());
        assert!(value("{hex: 'abc'}").bytes().unwrap_err().contains("odd number"));
        assert!(value("{hex: 'zz'}").bytes().unwrap_err().contains("not a hex byte"));
    }
}
