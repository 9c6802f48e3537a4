//! Envoy's admin endpoint: readiness and the pages a debug bundle keeps.

use std::fs;
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
