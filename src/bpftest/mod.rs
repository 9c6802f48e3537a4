//! `gw test` on an eBPF project, in the kernel: every program of the built
//! object through the verifier, then packet scenarios run with
//! BPF_PROG_TEST_RUN against maps preloaded as the scenario says. Natively:
//! gw makes the bpf(2) calls itself, so it needs root (CAP_BPF and
//! CAP_NET_ADMIN). Reported in the same form as the wasm scenarios.

pub mod kernel;
pub mod packet;
pub mod scenario;
pub mod value;

use std::path::Path;
use std::time::{Duration, Instant};

use aya::programs::ProgramError;

use crate::wasmhost::{CaseReport, FileReport, Observed, Verdict};
use kernel::{Layout, RunKind};
use scenario::{Case, Entry, Expected, Scenario};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel refused to create the object's maps or probe its features for lack of
    /// privileges.
    #[error("loading {object} into the kernel needs root (CAP_BPF and CAP_NET_ADMIN): {reason}")]
    NotPermitted { object: String, reason: String },
}

/// Every program of `object` through the kernel's verifier: one case per program.
pub fn verify(object: &Path) -> Result<FileReport, Error> {
    let started = Instant::now();
    let mut ebpf = match kernel::open(object) {
        Ok(ebpf) => ebpf,
        Err(e) if not_permitted(&e.to_string()) => {
            return Err(Error::NotPermitted { object: object.display().to_string(), reason: e.to_string() });
        }
        Err(e) => return Ok(file_failed(object, "load the object", format!("aya could not load it: {e}"))),
    };
    let mut cases = Vec::new();
    let sections = kernel::sections(object);
    let mut names: Vec<String> = ebpf.programs().map(|(name, _)| name.to_string()).collect();
    names.sort();
    for name in names {
        let Some(program) = ebpf.program_mut(&name) else { continue };
        let kind = format!("{:?}", program.prog_type());
        let case_started = Instant::now();
        let outcome = match kernel::load(program) {
            Ok(true) => Verdict::Passed,
            Ok(false) => Verdict::Skipped(format!("gw does not load {kind} programs yet (they need a target named)")),
            Err(e) => Verdict::Failed(rejection(&e, &name, sections.get(&name))),
        };
        cases.push(case(format!("verifier: {name} ({kind})"), outcome, case_started.elapsed()));
    }
    if cases.is_empty() {
        return Ok(file_failed(object, "load the object", "it holds no program".into()));
    }
    Ok(FileReport { file: object.to_path_buf(), cases, duration: started.elapsed() })
}

/// The cases of one scenario file, each against a fresh copy of the object (its maps new).
pub fn run_file(object: &Path, file: &Path) -> FileReport {
    let started = Instant::now();
    let scenario = match Scenario::load(file) {
        Ok(scenario) => scenario,
        Err(reason) => return file_failed(file, "scenario file", format!("{}: {reason}", file.display())),
    };
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let cases = scenario
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let case_started = Instant::now();
            let mut note = None;
            let outcome = match run_case(object, &scenario, i, c) {
                Ok((differences, per_run)) => {
                    if c.repeat > 1 {
                        note = Some(format!("{}: {} runs, {per_run:?} each (the kernel's average)", c.name, c.repeat));
                    }
                    if differences.is_empty() { Verdict::Passed } else { Verdict::Failed(differences) }
                }
                Err(fault) => Verdict::Failed(vec![at_line(fault, file, &text, c)]),
            };
            let mut report = case(c.name.clone(), outcome, case_started.elapsed());
            report.notes.extend(note);
            report
        })
        .collect();
    FileReport { file: file.to_path_buf(), cases, duration: started.elapsed() }
}

/// A case that could not run, with the line of the file it comes from: the file's `maps:` for
/// a fault there, else the line naming the case.
fn at_line(fault: String, file: &Path, text: &str, case: &Case) -> String {
    let file_maps = fault.starts_with("maps");
    let line = text.lines().position(|line| {
        if file_maps { line.starts_with("maps:") } else { line.contains("name:") && line.contains(case.name.as_str()) }
    });
    match line {
        Some(n) => format!("{fault} ({}:{})", file.display(), n + 1),
        None => fault,
    }
}

/// The differences between what the case expects and what the kernel did, and the kernel's
/// time per run; `Err` when the case could not run (a bad map name, a key of the wrong size,
/// the verifier's refusal).
fn run_case(object: &Path, scenario: &Scenario, index: usize, case: &Case) -> Result<(Vec<String>, Duration), String> {
    let at = format!("cases[{index}]");
    let packet = case.packet.build().map_err(|e| format!("{at}.packet: {e}"))?;
    let mut ebpf = kernel::open(object).map_err(|e| format!("aya could not load {}: {e}", object.display()))?;
    for (place, maps) in [("maps".to_string(), &scenario.maps), (format!("{at}.maps"), &case.maps)] {
        for (name, entries) in maps {
            let map = ebpf.map(name).ok_or_else(|| unknown("map", name, &place, ebpf.maps().map(|(n, _)| n)))?;
            let layout = kernel::layout(map).map_err(|e| format!("{place}.{name}: {e}"))?;
            for (i, entry) in entries.iter().enumerate() {
                let at = format!("{place}.{name}[{i}]");
                let key = sized(&entry.key, layout.key_size, &format!("{at}.key"))?;
                let value = entry.value.as_ref().ok_or(format!("{at}: a preloaded entry needs a value"))?;
                let value = sized(value, layout.value_size, &format!("{at}.value"))?;
                kernel::update(map, &layout, &key, &value).map_err(|e| format!("{at}: the kernel refused it: {e}"))?;
            }
        }
    }
    let name = program_name(&ebpf, case.program.as_ref().or(scenario.program.as_ref()))?;
    let program = ebpf.program_mut(&name).ok_or_else(|| format!("no program {name}"))?;
    let kind = kernel::run_kind(program).ok_or_else(|| {
        format!(
            "{name} is a {:?} program: the kernel runs only XDP, tc, socket filter and cgroup skb programs on packets",
            program.prog_type()
        )
    })?;
    kernel::load(program).map_err(|e| rejection(&e, &name, None).join("\n"))?;
    let expected = verdict_value(kind, &case.expect.verdict).map_err(|e| format!("{at}.expect.verdict: {e}"))?;
    let ran =
        kernel::test_run(program, &packet, case.repeat).map_err(|e| format!("BPF_PROG_TEST_RUN of {name}: {e}"))?;

    let mut differences = Vec::new();
    if ran.value != expected {
        differences.push(format!(
            "verdict: expected {}, got {}",
            verdict_name(kind, expected),
            verdict_name(kind, ran.value)
        ));
    }
    if let Some(spec) = &case.expect.packet {
        let want = spec.build().map_err(|e| format!("{at}.expect.packet: {e}"))?;
        if let Some(difference) = packet_difference(&want, &ran.packet) {
            differences.push(difference);
        }
    }
    for (name, entries) in &case.expect.maps {
        let place = format!("{at}.expect.maps");
        let map = ebpf.map(name).ok_or_else(|| unknown("map", name, &place, ebpf.maps().map(|(n, _)| n)))?;
        let layout = kernel::layout(map).map_err(|e| format!("{place}.{name}: {e}"))?;
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("{place}.{name}[{i}]");
            let key = sized(&entry.key, layout.key_size, &format!("{at}.key"))?;
            let found = kernel::lookup(map, &layout, &key).map_err(|e| format!("{at}: {e}"))?;
            if let Some(difference) = entry_difference(name, entry, &layout, found, &at)? {
                differences.push(difference);
            }
        }
    }
    Ok((differences, ran.duration))
}

/// What an expected map entry says against what the map holds.
fn entry_difference(
    map: &str,
    entry: &Entry,
    layout: &Layout,
    found: Option<Vec<Vec<u8>>>,
    at: &str,
) -> Result<Option<String>, String> {
    let key = value::spaced_hex(&entry.key.bytes().unwrap_or_default());
    Ok(match (entry.absent, &entry.value, found) {
        (true, _, None) => None,
        (true, _, Some(_)) => Some(format!("{map}[{key}]: expected no entry, found one")),
        (false, None, _) => return Err(format!("{at}: give a value, or absent: true")),
        (false, Some(_), None) => Some(format!("{map}[{key}]: expected an entry, found none")),
        (false, Some(value), Some(cpus)) => {
            let want = sized(value, layout.value_size, &format!("{at}.value"))?;
            let (got, summed) = match layout.cpus {
                Some(_) => (value::sum_over_cpus(&cpus), " (summed over CPUs)"),
                None => (cpus[0].clone(), ""),
            };
            (got != want).then(|| format!("{map}[{key}]: expected {}{summed}, got {}", shown(&want), shown(&got)))
        }
    })
}

/// The program a case runs: the one named, or the object's only one that runs on packets.
fn program_name(ebpf: &aya::Ebpf, named: Option<&String>) -> Result<String, String> {
    if let Some(name) = named {
        return match ebpf.program(name) {
            Some(_) => Ok(name.clone()),
            None => Err(unknown("program", name, "program", ebpf.programs().map(|(n, _)| n))),
        };
    }
    let runnable: Vec<&str> =
        ebpf.programs().filter(|(_, p)| kernel::run_kind(p).is_some()).map(|(name, _)| name).collect();
    match runnable.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err("the object has no XDP, tc, socket filter or cgroup skb program to run packets through".into()),
        many => Err(format!("the object has several programs ({}): name one with `program:`", many.join(", "))),
    }
}

fn unknown<'a>(what: &str, name: &str, place: &str, known: impl Iterator<Item = &'a str>) -> String {
    let mut known: Vec<&str> = known.filter(|n| !n.starts_with('.')).collect();
    known.sort_unstable();
    format!("{place}: the object has no {what} {name:?}; it has: {}", known.join(", "))
}

/// The value's bytes, which must fill the map's key or value exactly.
fn sized(value: &value::Value, size: usize, at: &str) -> Result<Vec<u8>, String> {
    let bytes = value.bytes().map_err(|e| format!("{at}: {e}"))?;
    if bytes.len() != size {
        return Err(format!("{at}: {} bytes, and the map's are {size}", bytes.len()));
    }
    Ok(bytes)
}

/// The first byte that differs, with the bytes around it.
fn packet_difference(want: &[u8], got: &[u8]) -> Option<String> {
    if want == got {
        return None;
    }
    let at = want.iter().zip(got).position(|(a, b)| a != b).unwrap_or(want.len().min(got.len()));
    let around =
        |bytes: &[u8]| value::spaced_hex(&bytes[at.saturating_sub(4).min(bytes.len())..(at + 12).min(bytes.len())]);
    Some(format!(
        "packet: expected {} bytes, got {}; first difference at byte {at}: expected …{}…, got …{}…",
        want.len(),
        got.len(),
        around(want),
        around(got)
    ))
}

/// A value as a number when it is one (up to 8 bytes, the CPU's order), else its bytes.
fn shown(bytes: &[u8]) -> String {
    if bytes.len() <= 8 { value::as_integer(bytes).to_string() } else { value::spaced_hex(bytes) }
}

const XDP: &[&str] = &["XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"];
const TC: &[&str] = &[
    "TC_ACT_OK",
    "TC_ACT_RECLASSIFY",
    "TC_ACT_SHOT",
    "TC_ACT_PIPE",
    "TC_ACT_STOLEN",
    "TC_ACT_QUEUED",
    "TC_ACT_REPEAT",
    "TC_ACT_REDIRECT",
];
const CGROUP: &[&str] = &["DENY", "ALLOW"];

/// The return value a verdict's name stands for in this kind of program.
fn verdict_value(kind: RunKind, expected: &Expected) -> Result<u32, String> {
    let name = match expected {
        Expected::Number(n) => return Ok(*n),
        Expected::Name(name) => name.to_ascii_uppercase(),
    };
    let names = match kind {
        RunKind::Xdp => XDP,
        RunKind::Tc if name == "TC_ACT_UNSPEC" => return Ok(u32::MAX),
        RunKind::Tc => TC,
        RunKind::CgroupSkb => CGROUP,
        RunKind::SocketFilter if name == "DROP" => return Ok(0),
        RunKind::SocketFilter => {
            return Err(format!("{name}: a socket filter returns the bytes it keeps: a number, or DROP (0)"));
        }
    };
    match names.iter().position(|n| *n == name) {
        Some(i) => Ok(i as u32),
        None => Err(format!("{name} is not a verdict of this program; expected one of {}", names.join(", "))),
    }
}

fn verdict_name(kind: RunKind, value: u32) -> String {
    let names = match kind {
        RunKind::Xdp => XDP,
        RunKind::Tc if value == u32::MAX => return "TC_ACT_UNSPEC (-1)".into(),
        RunKind::Tc => TC,
        RunKind::CgroupSkb => CGROUP,
        RunKind::SocketFilter if value == 0 => return "0 (DROP)".into(),
        RunKind::SocketFilter => return format!("{value} (bytes kept)"),
    };
    match names.get(value as usize) {
        Some(name) => format!("{name} ({value})"),
        None => value.to_string(),
    }
}

/// The verifier's refusal, readably: the kernel's error, then the log's last instructions
/// up to the line that says what is wrong (its statistics left out).
fn rejection(error: &ProgramError, name: &str, section: Option<&String>) -> Vec<String> {
    let program = match section {
        Some(section) => format!("{name} (section {section})"),
        None => name.to_string(),
    };
    let ProgramError::LoadError { io_error, verifier_log } = error else { return vec![format!("{program}: {error}")] };
    let log = verifier_log.to_string();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let stats =
        |l: &&str| l.starts_with("processed ") || l.starts_with("verification time") || l.starts_with("stack depth");
    let end = lines.iter().rposition(|l| !stats(l)).map_or(lines.len(), |i| i + 1);
    let shown = &lines[end.saturating_sub(14)..end];
    let mut out = vec![format!("the verifier rejected {program} ({io_error}); the end of its log:")];
    out.push(shown.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"));
    out
}

fn not_permitted(error: &str) -> bool {
    error.contains("Operation not permitted") || error.contains("Permission denied")
}

fn case(name: String, outcome: Verdict, duration: Duration) -> CaseReport {
    CaseReport { name, outcome, duration, observed: Observed::default(), notes: Vec::new() }
}

fn file_failed(file: &Path, name: &str, reason: String) -> FileReport {
    FileReport {
        file: file.to_path_buf(),
        cases: vec![case(name.to_string(), Verdict::Failed(vec![reason]), Duration::ZERO)],
        duration: Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_named_as_the_kernel_names_them() {
        let name = |s: &str| Expected::Name(s.into());
        assert_eq!(verdict_value(RunKind::Xdp, &name("XDP_DROP")), Ok(1));
        assert_eq!(verdict_value(RunKind::Xdp, &name("xdp_pass")), Ok(2));
        assert_eq!(verdict_value(RunKind::Tc, &name("TC_ACT_SHOT")), Ok(2));
        assert_eq!(verdict_value(RunKind::CgroupSkb, &name("ALLOW")), Ok(1));
        assert_eq!(verdict_value(RunKind::SocketFilter, &Expected::Number(64)), Ok(64));
        assert!(verdict_value(RunKind::Xdp, &name("TC_ACT_OK")).unwrap_err().contains("XDP_PASS"));
        assert_eq!(verdict_name(RunKind::Xdp, 1), "XDP_DROP (1)");
        assert_eq!(verdict_name(RunKind::Tc, u32::MAX), "TC_ACT_UNSPEC (-1)");
    }

    #[test]
    fn a_packet_difference_points_at_the_byte() {
        assert_eq!(packet_difference(&[1, 2, 3], &[1, 2, 3]), None);
        let text = packet_difference(&[1, 2, 3], &[1, 9, 3]).unwrap();
        assert!(text.contains("at byte 1") && text.contains("01 02 03") && text.contains("01 09 03"), "{text}");
    }
}
