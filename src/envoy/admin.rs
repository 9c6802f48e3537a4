//! Envoy's admin endpoint: readiness and the pages a debug bundle keeps.

use fs_err as fs;
use std::collections::BTreeMap;
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

    /// Counters and gauges whose names match the regex `filter` (`/stats?format=json`), by name;
    /// None when the admin does not answer.
    pub fn stats(&self, filter: &str) -> Option<BTreeMap<String, i64>> {
        #[derive(serde::Deserialize)]
        struct Stats {
            #[serde(default)]
            stats: Vec<serde_json::Value>,
        }
        let query: String = filter
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let body = self.get(&format!("/stats?format=json&filter={query}"))?;
        let parsed: Stats = serde_json::from_slice(&body).ok()?;
        // Histograms come as one entry without a plain value; they are left out.
        Some(
            parsed
                .stats
                .iter()
                .filter_map(|s| Some((s.get("name")?.as_str()?.to_string(), s.get("value")?.as_i64()?)))
                .collect(),
        )
    }

    /// The port the listener called `name` is bound to (it may have asked for port 0).
    pub fn listener_port(&self, name: &str) -> Option<u16> {
        let body = self.get("/listeners?format=json")?;
        let parsed: serde_json::Value = serde_json::from_slice(&body).ok()?;
        parsed["listener_statuses"].as_array()?.iter().find(|l| l["name"] == name).and_then(|l| {
            l["local_address"]["socket_address"]["port_value"].as_u64().and_then(|p| u16::try_from(p).ok())
        })
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
