//! "Ready" means serving: once every Envoy answers /ready, each listener gw
//! wrote must be active. Envoy answers /ready even when it refused a listener
//! (a plugin that fails to configure), so this asks each admin for its dynamic
//! listeners, and reports a refusal with Envoy's reason and the lines its
//! plugins logged before it. After a swap, the listener must be active with
//! the new module (its file is named by its content, so the name tells).

use std::path::PathBuf;

use crate::envoy::{Fleet, ListenerState, logs};

/// A listener gw wrote and expects an Envoy to serve.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The Envoy (a fleet member's name); its listener has the same name.
    pub envoy: String,
    /// Text the listener's configuration holds once it is the one gw wrote (a staged
    /// module's path); None: any configuration of it will do.
    pub holding: Option<String>,
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

/// The listeners of `envoys` as Envoy started with them: logs read from the start (a
/// refusal may come before /ready does).
pub fn at_start(fleet: &Fleet, envoys: &[String]) -> Vec<Expected> {
    expect(fleet, envoys, None, |_| 0)
}

/// The listeners of `envoys` rewritten to hold `holding`: logs read from now on.
pub fn after_swap(fleet: &Fleet, envoys: &[String], holding: &str) -> Vec<Expected> {
    expect(fleet, envoys, Some(holding), logs::offset)
}

fn expect(fleet: &Fleet, envoys: &[String], holding: Option<&str>, from: fn(&std::path::Path) -> u64) -> Vec<Expected> {
    envoys
        .iter()
        .filter_map(|envoy| {
            let log = fleet.log(envoy)?;
            Some(Expected { envoy: envoy.clone(), holding: holding.map(str::to_string), from: from(&log), log })
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
    let holds = |config: &str| expected.holding.as_deref().is_none_or(|text| config.contains(text));
    match (&state.active, &state.rejected) {
        (Some(active), _) if holds(active) => Judged::Serving,
        // A refusal of this configuration (an older refusal of another stays in the dump).
        (_, Some(rejected)) if holds(&rejected.configuration) => Judged::Refused(rejected.details.clone()),
        _ => Judged::Pending,
    }
}
