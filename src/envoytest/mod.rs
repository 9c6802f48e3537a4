//! Scenarios through a real Envoy (`gw test --envoy`): the same scenario files gw's proxy-wasm
//! host runs, sent through an Envoy build with the filter in place, and the two compared.
//!
//! ```text
//! let judge = Judge { binary, version: "1.40.0".into() };
//! let through_envoy = envoytest::run_file(&judge, Path::new("filter.wasm"), Path::new("scenarios/auth.yaml"));
//! let merged = envoytest::agree(&host_report, &through_envoy);
//! ```
//!
//! Each file gets its own Envoy (one worker, so one VM, as the host has): a listener with the
//! filter as an HTTP filter (or a network filter when the file's cases are connections),
//! routed to a stub upstream that answers each case's `response` and records what reached it,
//! and a stub per cluster the file's `http_calls` name. Request-side expectations are checked
//! on what the upstream received; local responses and response-side ones on what the client
//! got; metrics on Envoy's stats (`wasmcustom.<name>`); logs on Envoy's log lines. What Envoy
//! cannot run as the scenario says (gw's virtual clock, ticks, queues, properties Envoy derives
//! itself) is skipped with its reason; what it cannot show (a callback's return value,
//! properties set, shared data) is named in the case's notes.

mod agreement;
mod bootstrap;
mod observe;
mod plan;
mod runner;
mod stubs;
mod wire;

use std::path::PathBuf;

pub use agreement::agree;
pub use runner::run_file;

/// The Envoy build that runs the scenarios.
#[derive(Debug, Clone)]
pub struct Judge {
    pub binary: PathBuf,
    /// Its version, for reports (`1.40.0`).
    pub version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not set up the scenario's stub servers: {0}")]
    Stub(std::io::Error),
    #[error(transparent)]
    Envoy(#[from] crate::envoy::Error),
}
