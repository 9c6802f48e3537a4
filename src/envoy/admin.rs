//! Envoy's admin endpoint: readiness and the pages a debug bundle keeps.

use fs_err as fs;
use std::path::Path;
use std::time::Duration;

/// Admin pages saved into a run's debug bundle, with the file each goes to.
pub const SNAPSHOT_PATHS: &[(&str, &str)] = &[
    ("/server_info", "server_info.json"),
    ("/config_dump", "config_dump.json"),
    ("/stats", "stats.txt"),
    ("/clusters", "clusters.txt"),
    ("/listeners", "listeners.txt"),
];

/// One dynamic listener as Envoy holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerState {
    pub name: String,
    /// The configuration serving now (as JSON text), if one is.
    pub active: Option<String>,
    /// The last update Envoy refused, if one was.
    pub rejected: Option<Rejected>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Envoy's reason, e.g. `Unable to create Wasm plugin jwt`.
    pub details: String,
    /// The refused configuration (as JSON text).
    pub configuration: String,
}

#[derive(serde::Deserialize)]
struct Dump {
    #[serde(default)]
    configs: Vec<DynamicListener>,
}

#[derive(serde::Deserialize)]
struct DynamicListener {
    #[serde(default)]
    name: String,
    active_state: Option<Active>,
    error_state: Option<ErrorState>,
}

#[derive(serde::Deserialize)]
struct Active {
    #[serde(default)]
    listener: serde_json::Value,
}

#[derive(serde::Deserialize)]
struct ErrorState {
    #[serde(default)]
    details: String,
    #[serde(default)]
    failed_configuration: serde_json::Value,
}

impl From<DynamicListener> for ListenerState {
    fn from(l: DynamicListener) -> Self {
        ListenerState {
            name: l.name,
            active: l.active_state.map(|a| a.listener.to_string()),
            rejected: l
                .error_state
                .map(|e| Rejected { details: e.details, configuration: e.failed_configuration.to_string() }),
        }
    }
}

/// A client for one admin address (`host:port`).
pub struct Admin {
    address: String,
    http: reqwest::blocking::Client,
}

impl Admin {
    pub fn new(address: &str) -> Option<Admin> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .no_proxy() // the admin listens on this machine; a proxy would only get in the way
            .build()
            .ok()?;
        Some(Admin { address: address.trim().to_string(), http })
    }

    /// Reads the address Envoy writes to `--admin-address-path` once its admin listens.
    pub fn from_address_file(path: &Path) -> Option<Admin> {
        let text = fs::read_to_string(path).ok()?;
        if text.trim().is_empty() {
            return None;
        }
        Admin::new(&text)
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether `/ready` answers 200 (Envoy says LIVE).
    pub fn is_ready(&self) -> bool {
        self.get("/ready").is_some()
    }

    fn get(&self, path: &str) -> Option<Vec<u8>> {
        let response = self.http.get(format!("http://{}{path}", self.address)).send().ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.bytes().ok().map(|b| b.to_vec())
    }

    /// Each dynamic listener's state (`/config_dump?resource=dynamic_listeners`); None when
    /// the admin does not answer.
    pub fn dynamic_listeners(&self) -> Option<Vec<ListenerState>> {
        let body = self.get("/config_dump?resource=dynamic_listeners")?;
        let dump: Dump = serde_json::from_slice(&body).ok()?;
        Some(dump.configs.into_iter().map(ListenerState::from).collect())
    }

    /// Saves every page of [`SNAPSHOT_PATHS`] into `dir`; returns how many answered.
    pub fn snapshot(&self, dir: &Path) -> std::io::Result<usize> {
        fs::create_dir_all(dir)?;
        let mut saved = 0;
        for (path, file) in SNAPSHOT_PATHS {
            if let Some(body) = self.get(path) {
                fs::write(dir.join(file), body)?;
                saved += 1;
            }
        }
        Ok(saved)
    }
}
