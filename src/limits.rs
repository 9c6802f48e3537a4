//! What gw lets a server or a file cost it: time, bytes, entries, depth.
//! The ones a user may need to raise are environment variables; the others
//! are far above what any honest input needs. docs/security.md lists them all.

use std::time::Duration;

use crate::env_vars::{self, Var};

/// An index, a project page, a checksum file.
pub const LISTING: u64 = 32 << 20;
/// A registry manifest or index (the distribution spec suggests 4 MiB).
pub const MANIFEST: u64 = 4 << 20;
/// An archive may unpack to this many times what was downloaded, plus [`SLACK`].
pub const RATIO: u64 = 100;
/// What any archive may unpack to before the ratio applies (small archives of
/// zeros are legitimately very compressible).
pub const SLACK: u64 = 16 << 20;
/// Entries in one archive.
pub const ENTRIES: u64 = 100_000;
/// Directory depth of a path in an archive.
pub const DEPTH: usize = 64;
/// All of a module's memories together, in the wasm host.
pub const WASM_MEMORY: usize = 256 << 20;
/// Log output one scenario case keeps.
pub const CASE_LOG: usize = 16 << 20;
/// Nesting of a YAML document gw reads.
pub const YAML_DEPTH: usize = 64;

/// A limit variable set to something that is not a number.
#[derive(Debug, thiserror::Error)]
#[error("{name} is set to '{value}', which is not {what}")]
pub struct Invalid {
    pub name: &'static str,
    pub value: String,
    what: &'static str,
}

impl crate::diagnose::Diagnose for Invalid {
    fn is_input(&self) -> bool {
        true
    }

    fn hint(&self) -> Option<String> {
        Some(format!("unset {} or give it a whole number (see docs/security.md#limits)", self.name))
    }
}

/// How long to wait for a connection.
pub fn connect_timeout() -> Result<Duration, Invalid> {
    seconds(&env_vars::GW_HTTP_CONNECT_TIMEOUT, 15)
}

/// How long a server may send nothing.
pub fn idle_timeout() -> Result<Duration, Invalid> {
    seconds(&env_vars::GW_HTTP_IDLE_TIMEOUT, 30)
}

/// Bytes one archive may unpack to.
pub fn max_unpacked() -> Result<u64, Invalid> {
    number(&env_vars::GW_MAX_UNPACKED, 4 << 30, "a number of bytes")
}

/// Bytes of the largest module `gw pull` accepts.
pub fn max_module() -> Result<u64, Invalid> {
    number(&env_vars::GW_MAX_MODULE, 64 << 20, "a number of bytes")
}

fn seconds(var: &Var, default: u64) -> Result<Duration, Invalid> {
    number(var, default, "a number of seconds above 0").map(Duration::from_secs)
}

fn number(var: &Var, default: u64, what: &'static str) -> Result<u64, Invalid> {
    match env_vars::value(var) {
        None => Ok(default),
        Some(value) => match value.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Invalid { name: var.name, value, what }),
        },
    }
}

/// Bytes in a human unit, for messages: `4 GiB`, `32 MiB`, `1500 bytes`.
pub fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
    }
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.1} {unit}", n as f64 / size as f64);
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(super::bytes(4 << 30), "4 GiB");
        assert_eq!(super::bytes(32 << 20), "32 MiB");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(super::bytes(12), "12 bytes");
    }
}
