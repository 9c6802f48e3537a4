//! What the double checks of its configuration, as Envoy would at start-up:
//! the bootstrap against Envoy's API schema (gw's embedded copy), the wasm
//! modules it names exist, and a file-based LDS source, which it also
//! watches: a replaced file is checked and its listeners "loaded" again.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use gw::topology::validate::{DISCOVERY_RESPONSE, validate_yaml, validate_yaml_as};

/// Checks a bootstrap; `Err` is Envoy's kind of start-up message.
pub fn check_bootstrap(path: &str, text: &str) -> Result<Option<PathBuf>, String> {
    if let Err(problems) = validate_yaml(text) {
        let problems: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        return Err(format!("error initializing configuration '{path}': {}", problems.join("; ")));
    }
    let value: serde_json::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    modules_exist(&value)?;
    let lds = value.pointer("/dynamic_resources/lds_config/path_config_source/path").and_then(|p| p.as_str());
    Ok(lds.map(PathBuf::from))
}

/// Checks a file-based LDS source; on success, the listeners and the wasm files they run.
pub fn check_listeners(path: &PathBuf) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Err(problems) = validate_yaml_as(&text, DISCOVERY_RESPONSE) {
        let problems: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        return Err(format!("{}: {}", path.display(), problems.join("; ")));
    }
    let value: serde_json::Value = serde_norway::from_str(&text).map_err(|e| e.to_string())?;
    let modules = modules_exist(&value)?;
    let names = value["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str());
    Ok(names.map(|name| format!("listener '{name}' wasm {}", modules.join(","))).collect())
}

/// Every `vm_config.code.local.filename` must be a file (Envoy fails to load the module otherwise).
fn modules_exist(value: &serde_json::Value) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    collect(value, &mut found);
    for file in &found {
        if !std::path::Path::new(file).is_file() {
            return Err(format!("Failed to load Wasm code from {file}"));
        }
    }
    Ok(found)
}

fn collect(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(file) = value.pointer("/vm_config/code/local/filename").and_then(|f| f.as_str()) {
                found.push(file.to_string());
            }
            map.values().for_each(|v| collect(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        _ => {}
    }
}

/// Logs the listeners of an LDS file, then again each time the file is replaced.
pub fn watch_listeners(path: PathBuf, log: fn(&str, &str)) {
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut seen: Option<SystemTime> = None;
    loop {
        let now = modified(&path);
        if now != seen {
            seen = now;
            match check_listeners(&path) {
                Ok(listeners) => listeners.iter().for_each(|l| log("info", &format!("lds: add/update {l}"))),
                Err(e) => log("warning", &format!("lds: rejected: {e}")),
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
