//! "Ready" means serving: once every Envoy answers /ready, each listener gw
//! wrote must be active at the version gw wrote. Envoy answers /ready even
//! when it refused a listener (a plugin that fails to configure), so this asks
//! each admin for its dynamic listeners, and reports a refusal with Envoy's
//! reason and the lines its plugins logged before it.

use std::path::PathBuf;

use crate::envoy::{Fleet, ListenerState, logs};

/// A listener gw wrote and expects an Envoy to serve.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The Envoy (a fleet member's name); its listener has the same name.
    pub envoy: String,
    /// The `version_info` gw wrote.
    pub version: String,
    /// Its stderr log, and where it ended when the listener was written.
    pub log: PathBuf,
    pub from: u64,
}

/// Envoy refused a listener gw wrote.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub envoy: String,
    /// Envoy's own reason, e.g. `Unable to create Wasm plugin jwt`.
    pub reason: String,
    /// What its plugins logged before, shortened.
    pub log: Vec<String>,
}

/// The listeners of `envoys` gw wrote at `version`; their logs are read from the start
/// (`from_start`, at start-up) or from now on (a swap).
pub fn expect(fleet: &Fleet, envoys: &[String], version: &str, from_start: bool) -> Vec<Expected> {
    envoys
        .iter()
        .filter_map(|envoy| {
            let log = fleet.log(envoy)?;
            let from = if from_start { 0 } else { logs::offset(&log) };
            Some(Expected { envoy: envoy.clone(), version: version.to_string(), from, log })
        })
        .collect()
}

/// None while any listener is still on its way; `Some(Ok)` when all serve the version
/// gw wrote; `Some(Err)` at the first refusal.
pub fn verdict(fleet: &Fleet, expected: &[Expected]) -> Option<Result<(), Refusal>> {
    for e in expected {
        let states = fleet.admin(&e.envoy)?.dynamic_listeners()?;
        let state = states.into_iter().find(|s| s.name == e.envoy)?;
        match judge(&state, e) {
            Judged::Serving => continue,
            Judged::Pending => return None,
            Judged::Refused(reason) => {
                return Some(Err(Refusal { envoy: e.envoy.clone(), reason, log: refusal_lines(e) }));
            }
        }
    }
    Some(Ok(()))
}

/// The log lines about the refusal. Envoy's output reaches the log through a pipe, so the
/// admin can report a refusal before its lines are there: wait a moment for them.
fn refusal_lines(expected: &Expected) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let lines = logs::excerpt(&expected.log, expected.from);
        if lines.iter().any(|l| l.contains("rejected")) || std::time::Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

enum Judged {
    Serving,
    Pending,
    Refused(String),
}

fn judge(state: &ListenerState, expected: &Expected) -> Judged {
    if state.active.as_deref() == Some(expected.version.as_str()) {
        return Judged::Serving;
    }
    match &state.rejected {
        // Envoy names the refused version; or, when it does not, its log says it refused
        // something since gw wrote this one (an older refusal stays in the dump).
        Some(rejected)
            if rejected.version.as_deref() == Some(expected.version.as_str())
                || (rejected.version.as_deref().unwrap_or("").is_empty()
                    && logs::excerpt(&expected.log, expected.from).iter().any(|l| l.contains("rejected"))) =>
        {
            Judged::Refused(rejected.details.clone())
        }
        _ => Judged::Pending,
    }
}
