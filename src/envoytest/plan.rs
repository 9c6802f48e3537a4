//! What of a scenario a real Envoy can run faithfully: files and cases it cannot are skipped
//! with their reason, and expectations it cannot show are left out of the case's check and
//! named in its report.

use crate::wasmhost::scenario::{Case, Expect, Scenario};

/// How the filter sits in Envoy for this file: a network filter when any case is a
/// connection, else an HTTP filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Http,
    Network,
}

pub fn placement(scenario: &Scenario) -> Placement {
    if scenario.cases.iter().any(|c| c.connection.is_some()) { Placement::Network } else { Placement::Http }
}

fn keys<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// Why no case of the file can run through Envoy, if none can.
pub fn file_skip(scenario: &Scenario) -> Option<String> {
    if scenario.time.is_some() {
        return Some("the file sets gw's virtual clock (time:); a real Envoy runs on the real clock".into());
    }
    if !scenario.properties.is_empty() {
        return Some(format!("the file sets properties Envoy derives itself ({})", keys(scenario.properties.keys())));
    }
    if !scenario.shared_data.is_empty() {
        return Some("the file preloads shared data; a real Envoy starts without any".into());
    }
    None
}

/// Why this case cannot run through Envoy, if it cannot.
pub fn case_skip(case: &Case, placement: Placement) -> Option<String> {
    if case.tick.is_some() {
        return Some("it ticks gw's virtual clock (tick:); Envoy's timers run on the real clock".into());
    }
    if !case.enqueue.is_empty() {
        return Some("it enqueues into shared queues, which cannot be fed from outside a real Envoy".into());
    }
    if !case.properties.is_empty() {
        return Some(format!("it sets properties Envoy derives itself ({})", keys(case.properties.keys())));
    }
    match (placement, case.connection.is_some()) {
        (Placement::Network, false) => {
            Some("its file runs the filter as a network filter (other cases are connections)".into())
        }
        // (Http, connection) does not occur: one connection case makes the file a network one.
        _ => None,
    }
}

/// The expectations Envoy can show, and a note for each left out.
pub fn observable(expect: &Expect, earlier_skipped: bool) -> (Expect, Vec<String>) {
    let mut checked = expect.clone();
    let mut notes = Vec::new();
    if checked.action.take().is_some() || !std::mem::take(&mut checked.actions).is_empty() {
        notes.push("action: Envoy does not show what a callback returned".to_string());
    }
    if !std::mem::take(&mut checked.properties).is_empty() {
        notes.push("properties: Envoy does not show the properties a filter set".to_string());
    }
    if !std::mem::take(&mut checked.shared_data).is_empty() {
        notes.push("shared_data: Envoy does not show its shared data".to_string());
    }
    if earlier_skipped && !std::mem::take(&mut checked.metrics).is_empty() {
        notes.push("metrics: an earlier case was skipped, so the counts differ from the file's".to_string());
    }
    (checked, notes)
}

/// Every cluster the scenario's http_calls answer for (file and cases), each once.
pub fn call_clusters(scenario: &Scenario) -> Vec<String> {
    let mut names: Vec<String> = scenario
        .http_calls
        .iter()
        .chain(scenario.cases.iter().flat_map(|c| c.http_calls.iter()))
        .map(|c| c.cluster.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_properties_and_queues_are_skipped_with_their_reason() {
        let s = Scenario::from_yaml(
            "cases:\n  - {name: a}\n  - {name: b, tick: 10}\n  - {name: c, properties: {source.address: '1.2.3.4:5'}}\n  - {name: d, enqueue: [{queue: q}]}\n",
        )
        .unwrap();
        assert_eq!(file_skip(&s), None);
        let reasons: Vec<_> = s.cases.iter().map(|c| case_skip(c, placement(&s))).collect();
        assert_eq!(reasons[0], None);
        assert!(reasons[1].as_deref().unwrap().contains("tick"));
        assert!(reasons[2].as_deref().unwrap().contains("source.address"));
        assert!(reasons[3].as_deref().unwrap().contains("queues"));
        let timed = Scenario::from_yaml("time: 1700000000\ncases: [{name: a}]\n").unwrap();
        assert!(file_skip(&timed).unwrap().contains("virtual clock"));
    }

    #[test]
    fn unobservable_expectations_are_named_not_checked() {
        let s = Scenario::from_yaml(
            "cases:\n  - name: a\n    expect: {action: pause, metrics: {m: 1}, local_response: {status: 401}}\n",
        )
        .unwrap();
        let (checked, notes) = observable(&s.cases[0].expect, false);
        assert!(checked.action.is_none() && checked.local_response.is_some());
        assert_eq!(checked.metrics.len(), 1);
        assert_eq!(notes.len(), 1, "{notes:?}");
        let (checked, notes) = observable(&s.cases[0].expect, true);
        assert!(checked.metrics.is_empty() && notes.len() == 2, "{notes:?}");
    }
}
