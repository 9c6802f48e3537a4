//! What the kprobe program and its loader share, and the loader's pure parts
//! (checking a function name, turning per-CPU counters into a report), which
//! `cargo test -p {{ project_name }}-common` runs on the host.
#![cfg_attr(not(test), no_std)]

use core::fmt;

/// The kprobe program (its function name in {{ project_name }}-ebpf).
pub const PROGRAM: &str = "count_calls";
/// `PerCpuArray<u64>` with one entry: the calls counted on each CPU.
pub const CALLS_MAP: &str = "CALLS";
/// The kernel function the loader probes unless told otherwise.
pub const DEFAULT_FUNCTION: &str = "{{ function }}";
/// Where the kernel lists its kprobe event source; absent when the kernel
/// was built without kprobes (CONFIG_KPROBES).
pub const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";

/// Why a name cannot be a kernel function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolError {
    Empty,
    /// Longer than the kernel keeps symbol names (KSYM_NAME_LEN, 512).
    TooLong,
    /// Not a C identifier, optionally with compiler suffixes such as
    /// `.isra.0` or `.constprop.0`.
    BadCharacter(char),
}

impl fmt::Display for SymbolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolError::Empty => f.write_str("the function name is empty"),
            SymbolError::TooLong => f.write_str("the function name is longer than 511 bytes"),
            SymbolError::BadCharacter(c) => write!(f, "'{c}' cannot be part of a kernel symbol"),
        }
    }
}

/// Checks that `name` can be a kernel symbol as /proc/kallsyms lists it.
pub fn check_function(name: &str) -> Result<(), SymbolError> {
    let first = name.chars().next().ok_or(SymbolError::Empty)?;
    if name.len() > 511 {
        return Err(SymbolError::TooLong);
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(SymbolError::BadCharacter(first));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
    {
        Some(c) => Err(SymbolError::BadCharacter(c)),
        None => Ok(()),
    }
}

/// Whether a line of /proc/kallsyms (`ffffffff82025c30 T tcp_connect`)
/// defines `function` as code (type t or T), which is what kprobes attach to.
pub fn kallsyms_defines(line: &str, function: &str) -> bool {
    let mut fields = line.split_whitespace();
    let (Some(_address), Some(kind), Some(name)) = (fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    matches!(kind, "t" | "T") && name == function
}

/// The sum of a counter's per-CPU values.
pub fn total(per_cpu: &[u64]) -> u64 {
    per_cpu.iter().fold(0, |sum, n| sum.saturating_add(*n))
}

/// Turns successive totals into per-interval increases.
#[derive(Debug, Default)]
pub struct Rate {
    previous: Option<u64>,
}

impl Rate {
    /// The increase since the last call (0 the first time, and when the
    /// counter went backwards, as it does if the program was reloaded).
    pub fn update(&mut self, total: u64) -> u64 {
        let delta = match self.previous {
            Some(previous) => total.saturating_sub(previous),
            None => 0,
        };
        self.previous = Some(total);
        delta
    }
}

/// One line of the loader's output: `tcp_connect calls=42 (+3)`.
pub struct Report<'a> {
    pub function: &'a str,
    pub total: u64,
    pub delta: u64,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} calls={} (+{})",
            self.function, self.total, self.delta
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_symbols_are_accepted() {
        for good in [
            "tcp_connect",
            "do_sys_openat2",
            "__x64_sys_execve",
            "tcp_v4_connect.cold",
            DEFAULT_FUNCTION,
        ] {
            assert_eq!(check_function(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn other_names_are_refused() {
        assert_eq!(check_function(""), Err(SymbolError::Empty));
        assert_eq!(check_function("1tcp"), Err(SymbolError::BadCharacter('1')));
        assert_eq!(
            check_function("tcp connect"),
            Err(SymbolError::BadCharacter(' '))
        );
        assert_eq!(
            check_function("tcp_connect+4"),
            Err(SymbolError::BadCharacter('+'))
        );
        assert_eq!(check_function(&"a".repeat(512)), Err(SymbolError::TooLong));
    }

    #[test]
    fn kallsyms_lines_are_matched_by_name_and_kind() {
        assert!(kallsyms_defines(
            "ffffffff82025c30 T tcp_connect",
            "tcp_connect"
        ));
        assert!(kallsyms_defines(
            "ffffffff82025c30 t tcp_connect\t[some_module]",
            "tcp_connect"
        ));
        assert!(!kallsyms_defines(
            "ffffffff82025c30 T tcp_connect_init",
            "tcp_connect"
        ));
        // Data symbols cannot be probed.
        assert!(!kallsyms_defines(
            "ffffffff83000000 D tcp_connect",
            "tcp_connect"
        ));
        assert!(!kallsyms_defines("garbage", "tcp_connect"));
    }

    #[test]
    fn totals_and_rates() {
        assert_eq!(total(&[3, 0, 4]), 7);
        assert_eq!(total(&[u64::MAX, 1]), u64::MAX);
        let mut rate = Rate::default();
        assert_eq!(rate.update(10), 0);
        assert_eq!(rate.update(13), 3);
        assert_eq!(rate.update(1), 0);
    }

    #[test]
    fn reports_name_the_function() {
        assert_eq!(
            Report {
                function: "tcp_connect",
                total: 42,
                delta: 3
            }
            .to_string(),
            "tcp_connect calls=42 (+3)"
        );
    }
}
