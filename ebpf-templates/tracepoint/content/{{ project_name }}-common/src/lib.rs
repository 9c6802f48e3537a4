//! What the tracepoint program and its loader share, and the loader's pure
//! parts (naming a tracepoint, turning per-CPU counters into a report), which
//! `cargo test -p {{ project_name }}-common` runs on the host.
#![cfg_attr(not(test), no_std)]

use core::fmt;

/// The tracepoint program (its function name in {{ project_name }}-ebpf).
pub const PROGRAM: &str = "count_exec";
/// `PerCpuArray<u64>` with one entry: the events counted on each CPU.
pub const EXECS_MAP: &str = "EXECS";
/// The tracepoint the loader attaches to unless told otherwise.
pub const DEFAULT_TRACEPOINT: &str = "{{ tracepoint }}";

/// A tracepoint named as `category/name`, the way tracefs lays them out
/// (`/sys/kernel/tracing/events/<category>/<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracepoint<'a> {
    pub category: &'a str,
    pub name: &'a str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TracepointError {
    /// No `/` between category and name.
    NoSlash,
    /// A part is empty or has characters tracefs names do not.
    BadPart,
}

impl fmt::Display for TracepointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TracepointError::NoSlash => "expected category/name, e.g. syscalls/sys_enter_execve",
            TracepointError::BadPart => "category and name are letters, digits and underscores",
        })
    }
}

impl<'a> Tracepoint<'a> {
    pub fn parse(text: &'a str) -> Result<Self, TracepointError> {
        let (category, name) = text.split_once('/').ok_or(TracepointError::NoSlash)?;
        let valid = |part: &str| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        if !valid(category) || !valid(name) {
            return Err(TracepointError::BadPart);
        }
        Ok(Tracepoint { category, name })
    }
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

/// One line of the loader's output: `execs=1234 (+5) cpu0=600 cpu1=634`.
pub struct Report<'a> {
    pub total: u64,
    pub delta: u64,
    pub per_cpu: &'a [u64],
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "execs={} (+{})", self.total, self.delta)?;
        for (cpu, count) in self.per_cpu.iter().enumerate() {
            write!(f, " cpu{cpu}={count}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracepoints_are_category_slash_name() {
        assert_eq!(
            Tracepoint::parse("syscalls/sys_enter_execve"),
            Ok(Tracepoint {
                category: "syscalls",
                name: "sys_enter_execve"
            })
        );
        assert_eq!(
            Tracepoint::parse("sched/sched_process_exec").unwrap().name,
            "sched_process_exec"
        );
        assert_eq!(Tracepoint::parse(DEFAULT_TRACEPOINT).map(|_| ()), Ok(()));
    }

    #[test]
    fn bad_tracepoint_names_are_refused() {
        assert_eq!(
            Tracepoint::parse("sys_enter_execve"),
            Err(TracepointError::NoSlash)
        );
        for bad in [
            "/sys_enter_execve",
            "syscalls/",
            "syscalls/sys enter",
            "../x/y",
            "a/b/c",
            "sys-calls/x",
        ] {
            assert_eq!(
                Tracepoint::parse(bad),
                Err(TracepointError::BadPart),
                "{bad}"
            );
        }
    }

    #[test]
    fn totals_sum_every_cpu() {
        assert_eq!(total(&[]), 0);
        assert_eq!(total(&[3, 0, 4]), 7);
        assert_eq!(total(&[u64::MAX, 1]), u64::MAX);
    }

    #[test]
    fn rates_are_increases_since_the_last_sample() {
        let mut rate = Rate::default();
        assert_eq!(rate.update(100), 0);
        assert_eq!(rate.update(105), 5);
        assert_eq!(rate.update(105), 0);
        assert_eq!(rate.update(3), 0); // reloaded: the counter restarted
        assert_eq!(rate.update(10), 7);
    }

    #[test]
    fn reports_show_total_increase_and_cpus() {
        let report = Report {
            total: 1234,
            delta: 5,
            per_cpu: &[600, 634],
        };
        assert_eq!(report.to_string(), "execs=1234 (+5) cpu0=600 cpu1=634");
    }
}
