//! The scenario file model (a contract: `gw init` templates and users write these files; the
//! keys are listed in the module docs of `wasmhost`). YAML is read with serde_norway, here only.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::Path;

use serde::Deserialize;
use serde::de::Error as _;
use serde_norway::Value;

use super::Error;
use super::state::LogLevel;

/// A project's scenario files: `scenarios/*.yaml` and `*.yml`, sorted (none without the folder).
pub fn project_files(root: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = fs_err::read_dir(root.join("scenarios")) else { return Vec::new() };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Free text, ignored.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub plugin_config: ConfigBytes,
    #[serde(default)]
    pub vm_config: ConfigBytes,
    #[serde(default)]
    pub plugin_name: Option<String>,
    #[serde(default)]
    pub root_id: Option<String>,
    #[serde(default)]
    pub vm_id: Option<String>,
    #[serde(default)]
    pub log_level: Option<LogLevel>,
    #[serde(default)]
    pub time: Option<StartTime>,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    #[serde(default)]
    pub http_calls: Vec<HttpCallSpec>,
    #[serde(default)]
    pub shared_data: BTreeMap<String, String>,
    #[serde(default)]
    pub expect_start_failure: bool,
    #[serde(default)]
    pub cases: Vec<Case>,
}

impl Scenario {
    pub fn from_yaml(text: &str) -> Result<Scenario, String> {
        crate::yaml_depth::check(text).map_err(|e| e.to_string())?;
        let scenario: Scenario = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        if scenario.cases.is_empty() && !scenario.expect_start_failure {
            // A file that checks nothing would pass; it is almost always a mistake (a typo in `cases:`).
            return Err("it has no cases: add at least one under `cases:`".into());
        }
        Ok(scenario)
    }

    pub fn load(path: &Path) -> Result<Scenario, Error> {
        let text = fs_err::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        Scenario::from_yaml(&text).map_err(|message| Error::Scenario { path: path.to_path_buf(), message })
    }
}

/// Configuration bytes: a string as is, a mapping or sequence as JSON, nothing as empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigBytes(pub Vec<u8>);

impl<'de> Deserialize<'de> for ConfigBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(ConfigBytes(Vec::new())),
            Value::String(s) => Ok(ConfigBytes(s.into_bytes())),
            other => serde_json::to_vec(&other)
                .map(ConfigBytes)
                .map_err(|e| D::Error::custom(format!("cannot turn this configuration into JSON: {e}"))),
        }
    }
}

/// The virtual clock's start: unix seconds or RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTime(pub u64);

impl<'de> Deserialize<'de> for StartTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match Value::deserialize(d)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => return Err(D::Error::custom("time: expected RFC 3339 (2024-05-01T12:00:00Z) or unix seconds")),
        };
        super::clock::parse_time(&text).map(StartTime).map_err(|e| D::Error::custom(format!("time: {e}")))
    }
}

/// Header-like pairs: a mapping, or a list of `[name, value]` (or one-key mappings) for
/// repeated names. Scalar values become strings (`200` → `"200"`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pair = |k: &Value, v: &Value| -> Result<(String, String), D::Error> {
            match (scalar(k), scalar(v)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(D::Error::custom("header names and values must be strings or numbers")),
            }
        };
        let mut out = Vec::new();
        match Value::deserialize(d)? {
            Value::Null => {}
            Value::Mapping(m) => {
                for (k, v) in &m {
                    out.push(pair(k, v)?);
                }
            }
            Value::Sequence(items) => {
                for item in &items {
                    match item {
                        Value::Sequence(kv) if kv.len() == 2 => out.push(pair(&kv[0], &kv[1])?),
                        Value::Mapping(m) if m.len() == 1 => {
                            let (k, v) = m.iter().next().expect("one entry");
                            out.push(pair(k, v)?);
                        }
                        _ => return Err(D::Error::custom("expected [name, value] or {name: value} in this list")),
                    }
                }
            }
            _ => return Err(D::Error::custom("expected a mapping of names to values, or a list of [name, value]")),
        }
        Ok(Pairs(out))
    }
}

/// A body: one string, or a list of chunks delivered one callback each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body(pub Vec<String>);

impl Body {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(Body(Vec::new())),
            Value::Sequence(items) => items
                .iter()
                .map(|v| scalar(v).ok_or_else(|| D::Error::custom("body chunks must be strings")))
                .collect::<Result<_, _>>()
                .map(Body),
            other => scalar(&other)
                .map(|s| Body(vec![s]))
                .ok_or_else(|| D::Error::custom("body: expected a string or a list of chunks")),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// Runs the case this many times in a row, each run checked (e.g. to exhaust a rate limit).
    #[serde(default = "once")]
    pub repeat: NonZeroU32,
    #[serde(default)]
    pub tick: Option<u64>,
    #[serde(default)]
    pub enqueue: Vec<EnqueueSpec>,
    #[serde(default)]
    pub request: Option<MessageSpec>,
    #[serde(default)]
    pub response: Option<MessageSpec>,
    #[serde(default)]
    pub connection: Option<ConnectionSpec>,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    #[serde(default)]
    pub http_calls: Vec<HttpCallSpec>,
    #[serde(default)]
    pub expect: Expect,
}

fn once() -> NonZeroU32 {
    NonZeroU32::MIN
}

impl Case {
    /// Whether the case sends an HTTP request: it says so, or it says nothing else.
    pub fn is_http(&self) -> bool {
        self.request.is_some()
            || self.response.is_some()
            || (self.connection.is_none() && self.tick.is_none() && self.enqueue.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    #[serde(default)]
    pub headers: Pairs,
    #[serde(default)]
    pub body: Body,
    #[serde(default)]
    pub trailers: Pairs,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCallSpec {
    pub cluster: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub response: Option<MessageSpec>,
    /// Answer with a failure (no headers), as Envoy does on a timeout or a reset.
    #[serde(default)]
    pub fail: bool,
}

impl HttpCallSpec {
    pub(crate) fn matches(&self, cluster: &str, path: Option<&str>, method: Option<&str>) -> bool {
        if self.cluster != cluster {
            return false;
        }
        if let Some(want) = &self.path {
            let Some(path) = path else { return false };
            let without_query = path.split('?').next().unwrap_or(path);
            if want != path && want != without_query {
                return false;
            }
        }
        match (&self.method, method) {
            (Some(want), Some(got)) => want.eq_ignore_ascii_case(got),
            (Some(_), None) => false,
            (None, _) => true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnqueueSpec {
    pub queue: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub vm_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSpec {
    /// Chunks the client sends, before any of `upstream`.
    #[serde(default)]
    pub downstream: Vec<String>,
    /// Chunks the upstream sends back.
    #[serde(default)]
    pub upstream: Vec<String>,
    /// Or an explicit order: `[{downstream: "…"}, {upstream: "…"}]`, after the two lists.
    #[serde(default)]
    pub events: Vec<ConnectionEvent>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionEvent {
    #[serde(default)]
    pub downstream: Option<String>,
    #[serde(default)]
    pub upstream: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionName {
    Continue,
    Pause,
}

impl ActionName {
    pub(crate) fn from_raw(raw: u32) -> ActionName {
        if raw == 0 { ActionName::Continue } else { ActionName::Pause }
    }
}

impl std::fmt::Display for ActionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActionName::Continue => "continue",
            ActionName::Pause => "pause",
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub action: Option<ActionName>,
    #[serde(default)]
    pub actions: BTreeMap<String, ActionName>,
    #[serde(default)]
    pub local_response: Option<LocalResponseExpect>,
    #[serde(default)]
    pub request_headers: Pairs,
    #[serde(default)]
    pub request_headers_absent: Vec<String>,
    #[serde(default)]
    pub request_trailers: Pairs,
    #[serde(default)]
    pub request_body: Option<String>,
    #[serde(default)]
    pub response_headers: Pairs,
    #[serde(default)]
    pub response_headers_absent: Vec<String>,
    #[serde(default)]
    pub response_trailers: Pairs,
    #[serde(default)]
    pub response_body: Option<String>,
    #[serde(default)]
    pub forwarded: Option<bool>,
    #[serde(default)]
    pub closed: Option<bool>,
    #[serde(default)]
    pub upstream_data: Option<String>,
    #[serde(default)]
    pub downstream_data: Option<String>,
    #[serde(default)]
    pub metrics: BTreeMap<String, i64>,
    #[serde(default)]
    pub logs_contain: Vec<LogExpect>,
    #[serde(default)]
    pub logs_absent: Vec<LogExpect>,
    #[serde(default)]
    pub http_calls_made: Vec<HttpCallExpect>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub shared_data: BTreeMap<String, String>,
}

/// `local_response: false` (none may be sent), `true` (one must be), or what it must contain.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalResponseExpect {
    None,
    Any,
    Like(LocalResponseSpec),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalResponseSpec {
    #[serde(default)]
    pub status: Option<u32>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub headers: Pairs,
    #[serde(default)]
    pub details: Option<String>,
}

impl<'de> Deserialize<'de> for LocalResponseExpect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(false) => Ok(LocalResponseExpect::None),
            Value::Bool(true) => Ok(LocalResponseExpect::Any),
            other => serde_norway::from_value(other)
                .map(LocalResponseExpect::Like)
                .map_err(|e| D::Error::custom(format!("local_response: {e}"))),
        }
    }
}

/// A log line to look for: any level (a string), or a given level.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExpect {
    pub level: Option<LogLevel>,
    pub message: String,
}

impl<'de> Deserialize<'de> for LogExpect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WithLevel {
            level: LogLevel,
            message: String,
        }
        match Value::deserialize(d)? {
            Value::String(message) => Ok(LogExpect { level: None, message }),
            other => serde_norway::from_value::<WithLevel>(other)
                .map(|w| LogExpect { level: Some(w.level), message: w.message })
                .map_err(|e| D::Error::custom(format!("expected a string or {{level, message}}: {e}"))),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCallExpect {
    pub cluster: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub headers: Pairs,
    #[serde(default)]
    pub body: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimal_contract_parses() {
        let s = Scenario::from_yaml(
            r#"
plugin_config: "admin:secret\n"
vm_config: ""
cases:
  - name: no credentials are refused
    request:
      headers: {":method": GET, ":path": /api/private, ":authority": example.com}
    expect:
      local_response: {status: 401, body: "Invalid Token\n"}
  - name: good credentials pass and are forwarded
    request:
      headers: {":path": /api/private, authorization: "Basic YWRtaW46c2VjcmV0"}
    response:
      headers: {":status": "200"}
    expect:
      action: continue
      request_headers: {x-auth-user: admin}
      request_headers_absent: [authorization]
      response_headers: {x-filter: seen}
      metrics: {auth_denied_total: 1}
      logs_contain: []
"#,
        )
        .unwrap();
        assert_eq!(s.plugin_config.0, b"admin:secret\n");
        assert_eq!(s.cases.len(), 2);
        assert_eq!(s.cases[0].request.as_ref().unwrap().headers.0[0], (":method".into(), "GET".into()));
        assert_eq!(
            s.cases[0].expect.local_response,
            Some(LocalResponseExpect::Like(LocalResponseSpec {
                status: Some(401),
                body: Some("Invalid Token\n".into()),
                ..Default::default()
            }))
        );
        assert_eq!(s.cases[1].expect.action, Some(ActionName::Continue));
        assert_eq!(s.cases[1].expect.metrics["auth_denied_total"], 1);
    }

    #[test]
    fn mappings_become_json_and_unknown_keys_are_refused() {
        let s = Scenario::from_yaml("plugin_config: {users: {admin: x}, n: 2}\ncases: [{name: a}]\n").unwrap();
        assert_eq!(s.plugin_config.0, br#"{"users":{"admin":"x"},"n":2}"#);
        let err = Scenario::from_yaml("cases:\n  - name: x\n    expect: {request_header: {a: b}}\n").unwrap_err();
        assert!(err.contains("unknown field `request_header`"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn a_file_without_cases_is_refused() {
        let err = Scenario::from_yaml("plugin_config: {}\ncases: []\n").unwrap_err();
        assert!(err.contains("no cases"), "{err}");
        assert!(Scenario::from_yaml("expect_start_failure: true\n").is_ok());
        let deep = format!("cases: {}", "[".repeat(200_000));
        assert!(Scenario::from_yaml(&deep).unwrap_err().contains("nests more than 64"));
    }

    #[test]
    fn repeated_headers_bodies_and_logs() {
        let s = Scenario::from_yaml(
            r#"
time: 2024-01-01T00:00:00Z
cases:
  - name: x
    request:
      headers: [[cookie, a=1], {cookie: b=2}, [":status", 200]]
      body: [hello, world]
    expect:
      local_response: false
      logs_contain: ["plain", {level: warn, message: careful}]
"#,
        )
        .unwrap();
        assert_eq!(s.time, Some(StartTime(1_704_067_200_000_000_000)));
        let request = s.cases[0].request.as_ref().unwrap();
        assert_eq!(request.headers.0.len(), 3);
        assert_eq!(request.headers.0[2].1, "200");
        assert_eq!(request.body.0, vec!["hello".to_string(), "world".to_string()]);
        assert_eq!(s.cases[0].expect.local_response, Some(LocalResponseExpect::None));
        assert_eq!(s.cases[0].expect.logs_contain[1].level, Some(LogLevel::Warn));
    }
}
