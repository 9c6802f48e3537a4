//! One verdict per case from two runs of the same file, gw's host and a real Envoy: a case
//! passes when both pass, is skipped when Envoy could not run it (and the host passed), and
//! fails otherwise, with both outcomes shown together.

use crate::wasmhost::{CaseReport, FileReport, Verdict};

pub fn agree(host: &FileReport, envoy: &FileReport, version: &str) -> FileReport {
    let envoy_name = format!("Envoy {version}");
    let mut cases = Vec::new();
    let mut through_envoy = envoy.cases.iter();
    for case in &host.cases {
        let Some(other) = through_envoy.next() else {
            cases.push(case.clone());
            continue;
        };
        cases.push(merge(case, other, &envoy_name));
    }
    // What Envoy reported beyond the host's cases (it could not run the file at all).
    for other in through_envoy {
        let mut case = other.clone();
        if let Verdict::Failed(lines) = &mut case.outcome {
            lines.insert(0, format!("{envoy_name}:"));
        }
        cases.push(case);
    }
    FileReport { file: host.file.clone(), cases, duration: host.duration + envoy.duration }
}

fn merge(host: &CaseReport, envoy: &CaseReport, envoy_name: &str) -> CaseReport {
    let outcome = match (&host.outcome, &envoy.outcome) {
        (Verdict::Passed, Verdict::Passed) => Verdict::Passed,
        (Verdict::Passed, Verdict::Skipped(why)) => {
            Verdict::Skipped(format!("passed in gw's host; {envoy_name} cannot run it: {why}"))
        }
        (Verdict::Failed(lines), Verdict::Skipped(_)) => Verdict::Failed(lines.clone()),
        (Verdict::Failed(a), Verdict::Failed(b)) if a == b => {
            let mut lines = vec![format!("gw's host and {envoy_name} alike:")];
            lines.extend(a.iter().cloned());
            Verdict::Failed(lines)
        }
        (ours, theirs) => {
            let mut lines = side("gw's host", ours);
            lines.extend(side(envoy_name, theirs));
            Verdict::Failed(lines)
        }
    };
    let mut notes = host.notes.clone();
    notes.extend(envoy.notes.iter().map(|n| format!("not checked in {envoy_name}: {n}")));
    CaseReport {
        name: host.name.clone(),
        outcome,
        duration: host.duration + envoy.duration,
        observed: envoy.observed.clone(),
        notes,
    }
}

fn side(name: &str, outcome: &Verdict) -> Vec<String> {
    match outcome {
        Verdict::Passed => vec![format!("{name}: passed")],
        Verdict::Skipped(why) => vec![format!("{name}: skipped ({why})")],
        Verdict::Failed(lines) => {
            std::iter::once(format!("{name}:")).chain(lines.iter().map(|l| format!("  {l}"))).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasmhost::Observed;
    use std::time::Duration;

    fn case(outcome: Verdict) -> CaseReport {
        CaseReport { name: "c".into(), outcome, duration: Duration::ZERO, observed: Observed::default(), notes: vec![] }
    }

    fn file(outcome: Verdict) -> FileReport {
        FileReport { file: "s.yaml".into(), cases: vec![case(outcome)], duration: Duration::ZERO }
    }

    #[test]
    fn a_difference_fails_and_shows_both_sides() {
        let merged = agree(
            &file(Verdict::Passed),
            &file(Verdict::Failed(vec!["status: expected 401, got 200".into()])),
            "1.40.0",
        );
        let Verdict::Failed(lines) = &merged.cases[0].outcome else { panic!("{merged:?}") };
        assert_eq!(lines, &["gw's host: passed", "Envoy 1.40.0:", "  status: expected 401, got 200"]);
        assert!(agree(&file(Verdict::Passed), &file(Verdict::Passed), "1.40.0").cases[0].outcome.is_passed());
    }

    #[test]
    fn skipped_in_envoy_counts_as_skipped_unless_the_host_failed() {
        let skipped = agree(&file(Verdict::Passed), &file(Verdict::Skipped("tick".into())), "1.36.4");
        assert_eq!(skipped.skipped(), 1);
        let failed = agree(&file(Verdict::Failed(vec!["x".into()])), &file(Verdict::Skipped("tick".into())), "1.36.4");
        assert_eq!((failed.failed(), failed.skipped()), (1, 0));
    }
}
