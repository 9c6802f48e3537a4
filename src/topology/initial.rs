//! The `[topology]` text `gw init` writes into a new proxy-wasm project's gw.toml:
//! the default topology (the same as no section at all, which a test keeps true),
//! with the filter's working configuration written out, so what runs is what the
//! user sees and edits.

use std::path::Path;

use super::Error;

const HEAD: &str = r#"
# The local topology `gw run` starts (docs/topology.md): a front Envoy with this
# project's filter, routing /service/1 and /service/2 to service Envoys in front
# of gw's echo server. Ports left out are picked free.
[topology.front]
# port = 10000

[[topology.front.filters]]
wasm = "project"
"#;

const TAIL: &str = r#"
[[topology.routes]]
prefix = "/service/1"
service = "service-1"

[[topology.routes]]
prefix = "/service/2"
service = "service-2"

[[topology.services]]
name = "service-1"
upstream = "echo"   # or host:port

[[topology.services]]
name = "service-2"
upstream = "echo"

# Where `gw deploy cilium` puts the front's filters in a cluster (docs/deploy.md).
# [deploy.cilium]
# namespace = "default"
# services = ["checkout:8080"]   # Kubernetes Services whose traffic passes the filters
"#;

/// The section for the project rendered at `root`: the filter's `config` is the
/// `plugin_config` of its first scenario meant to start (pretty-printed when JSON).
pub fn text(root: &Path) -> Result<String, Error> {
    let mut text = String::from(HEAD);
    match super::scenario_config(root)? {
        Some((config, file)) => {
            let file = file.strip_prefix(root).unwrap_or(&file);
            text.push_str(&format!(
                "# What the filter's proxy_on_configure receives; gw init took it from {}.\n",
                file.display()
            ));
            text.push_str(&format!("config = {}\n", toml_string(&pretty(&config))));
        }
        None => text.push_str("# config = \"...\"   # what the filter's proxy_on_configure receives\n"),
    }
    text.push_str(TAIL);
    Ok(text)
}

/// JSON pretty-printed (keys in their order); anything else as it is.
fn pretty(config: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(config) {
        Ok(value) if value.is_object() || value.is_array() => {
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| config.to_string())
        }
        _ => config.to_string(),
    }
}

/// A TOML string holding `value` exactly: a multi-line literal when it can be one.
fn toml_string(value: &str) -> String {
    // A literal string cannot hold ''' or control characters other than tab and newline.
    let literal_ok = !value.contains("'''")
        && !value.ends_with('\'')
        && value.chars().all(|c| c == '\n' || c == '\t' || !c.is_control());
    if literal_ok { format!("'''\n{value}'''") } else { toml::Value::String(value.to_string()).to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::spec::Spec;

    #[derive(serde::Deserialize)]
    struct Manifest {
        topology: Spec,
    }

    fn read(text: &str) -> Spec {
        toml::from_str::<Manifest>(text).unwrap().topology.complete().unwrap()
    }

    #[test]
    fn without_scenarios_it_is_the_default_topology() {
        let dir = tempfile::tempdir().unwrap();
        let written = read(&text(dir.path()).unwrap());
        let default = Spec::default().complete().unwrap();
        assert_eq!(format!("{written:?}"), format!("{default:?}"));
    }

    #[test]
    fn the_config_is_the_first_startable_scenarios() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir(dir.path().join("scenarios")).unwrap();
        let scenarios = dir.path().join("scenarios");
        fs_err::write(
            scenarios.join("a-bad.yaml"),
            "plugin_config: {n: 0}\nexpect_start_failure: true\ncases: [{name: a}]\n",
        )
        .unwrap();
        fs_err::write(scenarios.join("b.yaml"), "plugin_config: {n: 2, s: \"it's '''\"}\ncases: [{name: a}]\n")
            .unwrap();
        let text = text(dir.path()).unwrap();
        assert!(text.contains("gw init took it from scenarios/b.yaml"), "{text}");
        let spec = read(&text);
        let config = spec.front.filters[0].config.as_deref().unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(config).unwrap()["s"], "it's '''");
        let mut default = Spec::default().complete().unwrap();
        default.front.filters[0].config = Some(config.to_string());
        assert_eq!(format!("{spec:?}"), format!("{default:?}"));
        for value in ["{\n  \"a\": 1\n}", "admin:secret\n", "ends with '", "tab\there"] {
            let parsed: toml::Table = toml::from_str(&format!("v = {}", toml_string(value))).unwrap();
            assert_eq!(parsed["v"].as_str(), Some(value));
        }
    }
}
