//! What the double reads of its configuration: where its file-based LDS source
//! is, and the listeners in it (with their `version_info`), which its admin
//! reports as serving. It checks nothing: what Envoy accepts is the real
//! Envoy's to say, in the tests that run it.

use std::path::PathBuf;

/// The bootstrap's file-based LDS source, if it has one.
pub fn lds_path(text: &str) -> Result<Option<PathBuf>, String> {
    let value: serde_json::Value = serde_norway::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let path = value.pointer("/dynamic_resources/lds_config/path_config_source/path").and_then(|p| p.as_str());
    Ok(path.map(PathBuf::from))
}

/// `/config_dump?resource=dynamic_listeners` for the listeners in the LDS file: each active
/// at the file's `version_info`.
pub fn dynamic_listeners(lds: Option<&PathBuf>) -> serde_json::Value {
    let text = lds.and_then(|path| std::fs::read_to_string(path).ok()).unwrap_or_default();
    let value: serde_json::Value = serde_norway::from_str(&text).unwrap_or_default();
    let version = value["version_info"].as_str().unwrap_or("").to_string();
    let configs: Vec<serde_json::Value> = value["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"].is_string())
        .map(|listener| {
            serde_json::json!({
                "@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener",
                "name": listener["name"],
                "active_state": {"version_info": version, "listener": listener},
            })
        })
        .collect();
    serde_json::json!({ "configs": configs })
}
