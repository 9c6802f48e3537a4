//! Envoy configs checked against Envoy's own API schema, without Envoy.
//!
//! The schema is `envoy-api.binpb`, a descriptor set of every Envoy v3 API file compiled by
//! `tools/envoy-schema.sh` (its source is named in `envoy-api.version`). A YAML document is read
//! as an `envoy.config.bootstrap.v3.Bootstrap` straight from the YAML parser, so unknown fields,
//! unknown `@type`s, bad durations and enum names are reported with the YAML line; then the
//! protoc-gen-validate rules Envoy declares are checked over the decoded message (see pgv.rs for
//! the list). Envoy's own checks beyond the schema (clusters that exist, filter order, ...) are not.

use super::pgv;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use pgv::Seg;

/// The Envoy API schema gw checks against (see tools/envoy-schema.sh).
static SCHEMA: &[u8] = include_bytes!("envoy-api.binpb");
/// Where the schema comes from: the envoy-types crate version and the Envoy API it tracks.
pub const SCHEMA_VERSION: &str = include_str!("envoy-api.version");

static POOL: LazyLock<DescriptorPool> =
    LazyLock::new(|| DescriptorPool::decode(SCHEMA).expect("the embedded Envoy API schema decodes"));

/// What an Envoy config file is: a bootstrap (`envoy -c envoy.yaml`)...
pub const BOOTSTRAP: &str = "envoy.config.bootstrap.v3.Bootstrap";
/// ...or what a file-based xDS source (e.g. LDS from a path) holds.
pub const DISCOVERY_RESPONSE: &str = "envoy.service.discovery.v3.DiscoveryResponse";

/// One thing wrong with a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, `static_resources.listeners[0].name`; empty for the document as a whole.
    pub path: String,
    /// The 1-based line in the YAML text, when it could be found.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error("{} is not a valid Envoy bootstrap ({} problem(s))", path.display(), problems.len())]
    Invalid { path: PathBuf, problems: Vec<Problem> },
}

impl crate::diagnose::Diagnose for Error {
    fn is_input(&self) -> bool {
        true
    }
}

/// Checks the file at `path` as an Envoy bootstrap (see [`validate_yaml`]).
pub fn validate_file(path: &Path) -> Result<(), Error> {
    let text = fs_err::read_to_string(path)?;
    validate_yaml(&text).map_err(|problems| Error::Invalid { path: path.to_owned(), problems })
}

/// Checks one YAML (or JSON) document as an Envoy bootstrap: first its shape against the API
/// schema (stops at the first error, as the parser does), then every protoc-gen-validate rule.
pub fn validate_yaml(text: &str) -> Result<(), Vec<Problem>> {
    validate_yaml_as(text, BOOTSTRAP)
}

/// The same for a document of any message of the schema, by full name (e.g. [`DISCOVERY_RESPONSE`]).
pub fn validate_yaml_as(text: &str, message: &str) -> Result<(), Vec<Problem>> {
    let Some(desc) = POOL.get_message_by_name(message) else {
        return Err(vec![Problem { path: String::new(), line: None, message: format!("no {message} in the schema") }]);
    };
    if let Err(deep) = crate::yaml_depth::check(text) {
        let message = deep.to_string().split_once(": ").map_or(deep.to_string(), |(_, m)| m.to_string());
        return Err(vec![Problem { path: String::new(), line: Some(deep.line), message }]);
    }
    let deserializer = serde_norway::Deserializer::from_str(text);
    let decoded = DynamicMessage::deserialize_with_options(desc, deserializer, &DeserializeOptions::new())
        .map_err(|error| vec![decode_problem(text, &error)])?;
    let mut problems: Vec<Problem> = pgv::check(&decoded)
        .into_iter()
        .map(|v| Problem { path: pgv::render(&v.path), line: line_of(text, &v.path), message: v.message })
        .collect();
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// serde_norway writes `<path>: <message> at line L column C`; take the pieces apart again.
fn decode_problem(text: &str, error: &serde_norway::Error) -> Problem {
    let mut line = error.location().map(|l| l.line());
    let mut shown = error.to_string();
    if let Some(l) = error.location() {
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if let Some(stripped) = shown.strip_suffix(&suffix) {
            shown = stripped.to_owned();
        }
    }
    // A path has no spaces; messages ("invalid type: ...") do before their first colon.
    let (mut path, mut message) = match shown.split_once(": ") {
        Some((path, message)) if !path.contains(char::is_whitespace) => (path.to_owned(), message.to_owned()),
        _ => (String::new(), shown),
    };
    // prost-reflect's words for an `@type` the schema does not have.
    if let Some(name) = message.strip_prefix("message '").and_then(|m| m.strip_suffix("' not found")) {
        message = format!("unknown @type: Envoy's API has no message {name}");
    }
    // An unknown field is better named by its own path and line than by its parent's (the
    // parser marks the start of the parent).
    if let Some(name) = message.strip_prefix("unrecognized field name '").and_then(|m| m.strip_suffix('\'')) {
        path = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        line = line_of(text, &parse_path(&path)).or(line);
    }
    // Two fields of a oneof: the parser marks the message; the second field is where it went wrong.
    let oneof = message.strip_prefix("multiple fields provided for oneof '").and_then(|m| m.strip_suffix('\''));
    if let Some(oneof) = oneof
        && let Some((name, found)) = later_oneof_field(text, &path, oneof)
    {
        message = format!("{name} is one of '{oneof}', and another of them is set already");
        line = Some(found);
    }
    if let Some(plain) = number_message(&message) {
        let key = path.rsplit(['.', '[']).next().unwrap_or_default();
        message = match line.and_then(|l| scalar_at(text, l, key)) {
            Some(value) => format!("'{value}': {plain}"),
            None => plain.to_string(),
        };
    }
    Problem { path, line, message }
}

/// Rust's words for a number that does not parse, in the user's.
fn number_message(message: &str) -> Option<&'static str> {
    Some(match message {
        "invalid digit found in string" => "expected a whole number",
        "cannot parse integer from empty string" => "expected a whole number, found nothing",
        "number too large to fit in target type" => "the number is too large for this field",
        "number too small to fit in target type" => "the number is too small for this field",
        "invalid float literal" => "expected a number",
        _ => return None,
    })
}

/// The scalar written after `key:` on line `line` (block or flow style).
fn scalar_at(text: &str, line: usize, key: &str) -> Option<String> {
    let source = text.lines().nth(line.checked_sub(1)?)?;
    let start = source.find(&format!("{key}:"))? + key.len() + 1;
    let value = source[start..].split([',', '}', '#']).next()?.trim().trim_matches(['"', '\'']);
    (!value.is_empty()).then(|| value.to_string())
}

/// The member of `oneof` (in the message at `path`) written last, and its line.
fn later_oneof_field(text: &str, path: &str, oneof: &str) -> Option<(String, usize)> {
    let steps = parse_path(path);
    let mut message = POOL.get_message_by_name(BOOTSTRAP)?;
    let mut rest = steps.iter();
    while let Some(step) = rest.next() {
        let Seg::Key(name) = step else { continue };
        let field = message.fields().find(|f| f.name() == name || f.json_name() == name)?;
        let prost_reflect::Kind::Message(inner) = field.kind() else { return None };
        message = if field.is_map() {
            rest.next(); // the map key
            match inner.map_entry_value_field().kind() {
                prost_reflect::Kind::Message(value) => value,
                _ => return None,
            }
        } else {
            inner
        };
    }
    let group = message.oneofs().find(|o| o.name() == oneof)?;
    let parent = line_of(text, &steps);
    group
        .fields()
        .filter_map(|f| {
            let mut at = steps.clone();
            at.push(Seg::Field { name: f.name().to_owned(), json: f.json_name().to_owned() });
            line_of(text, &at).filter(|l| Some(*l) != parent).map(|l| (f.name().to_owned(), l))
        })
        .max_by_key(|(_, l)| *l)
}

/// `a.b[0].c` back into steps (a map key with a dot in it splits wrongly; [`line_of`] then finds
/// the line of its parent).
fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|n| !n.is_empty()) {
            segs.push(Seg::Key(name.to_owned()));
        }
        segs.extend(pieces.filter_map(|i| i.trim_end_matches(']').parse().ok()).map(Seg::Index));
    }
    segs
}

/// The line of what `path` names in `text`: the line of its key for a field or map entry, of its
/// start for a list item, or that of the nearest enclosing value when it is absent. Found by
/// reading the YAML again and failing there: serde_norway marks an error with where it is.
fn line_of(text: &str, path: &[Seg]) -> Option<usize> {
    match Seek(path).deserialize(serde_norway::Deserializer::from_str(text)) {
        Ok(()) => None,
        Err(error) => error.location().map(|l| l.line()),
    }
}

fn here<E: de::Error>() -> E {
    E::custom("here")
}

struct Seek<'a>(&'a [Seg]);

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    // Every visit_* not written here fails: reaching a scalar is reaching the end of the path.
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the end of the path")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if let Some((first, rest)) = self.0.split_first() {
            while let Some(found) = map.next_key_seed(Key { seg: first, last: rest.is_empty() })? {
                if found {
                    return map.next_value_seed(Seek(rest));
                }
                map.next_value::<IgnoredAny>()?;
            }
        }
        Err(here())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some((Seg::Index(index), rest)) = self.0.split_first() {
            for _ in 0..*index {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Err(here());
                }
            }
            if let Some(()) = seq.next_element_seed(Seek(rest))? {
                return Ok(());
            }
        }
        Err(here())
    }
}

/// A mapping key: whether it is the step sought; when it is the last step, stop right on it.
struct Key<'a> {
    seg: &'a Seg,
    last: bool,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        let found = match self.seg {
            Seg::Field { name, json } => key == name || key == json,
            Seg::Key(k) => key == k,
            Seg::Index(_) => false,
        };
        if found && self.last { Err(here()) } else { Ok(found) }
    }

    fn visit_bool<E: de::Error>(self, key: bool) -> Result<bool, E> {
        self.visit_str(&key.to_string())
    }

    fn visit_i64<E: de::Error>(self, key: i64) -> Result<bool, E> {
        self.visit_str(&key.to_string())
    }

    fn visit_u64<E: de::Error>(self, key: u64) -> Result<bool, E> {
        self.visit_str(&key.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../docs/envoy-demo.yaml");

    fn problems(yaml: &str) -> Vec<Problem> {
        validate_yaml(yaml).expect_err("expected problems")
    }

    #[test]
    fn a_second_oneof_field_is_named_on_its_own_line() {
        let yaml = "static_resources:\n  clusters:\n  - name: a\n    type: STATIC\n    cluster_type: {name: x}\n";
        let found = problems(yaml);
        assert_eq!(found[0].line, Some(5), "{found:?}");
        assert!(found[0].message.starts_with("cluster_type is one of 'cluster_discovery_type'"), "{found:?}");
    }

    #[test]
    fn numbers_that_do_not_parse_say_so_in_words() {
        let yaml = "admin:\n  address:\n    socket_address: {address: 127.0.0.1, port_value: 99x01}\n";
        let found = problems(yaml);
        assert_eq!(found[0].line, Some(3), "{found:?}");
        assert_eq!(found[0].message, "'99x01': expected a whole number");
    }

    fn cluster(body: &str) -> String {
        format!("static_resources:\n  clusters:\n  - name: backend\n{body}")
    }

    #[test]
    fn the_demo_is_valid() {
        assert_eq!(validate_yaml(DEMO), Ok(()));
    }

    #[test]
    fn a_port_out_of_range_is_named_by_path_and_line() {
        let found = problems(&DEMO.replace("port_value: 10000", "port_value: 70000"));
        let port = Problem {
            path: "static_resources.listeners[0].address.socket_address.port_value".into(),
            line: Some(20),
            message: "value must be less than or equal to 65535".into(),
        };
        assert_eq!(found, vec![port]);
    }

    #[test]
    fn a_missing_required_message_points_at_its_parent() {
        let yaml = DEMO.replace(
            "- match:\n                            prefix: /\n                          direct_response:",
            "- direct_response:",
        );
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].path.ends_with("virtual_hosts[0].routes[0].match"), "{found:?}");
        assert_eq!(found[0].message, "value is required");
        assert_eq!(found[0].line, Some(33));
    }

    #[test]
    fn string_repeated_and_duration_rules() {
        let yaml = "static_resources:\n  clusters:\n  - name: ''\n    connect_timeout: 0s\n";
        let found = problems(yaml);
        let got: Vec<_> = found.iter().map(|p| (p.path.as_str(), p.message.as_str(), p.line)).collect();
        assert_eq!(
            got,
            [
                ("static_resources.clusters[0].name", "value length must be at least 1 characters", Some(3)),
                ("static_resources.clusters[0].connect_timeout", "value must be greater than 0s", Some(4)),
            ]
        );
        let found = problems(&DEMO.replace(r#"domains: ["*"]"#, "domains: []"));
        assert_eq!(found[0].message, "value must contain at least 1 item(s)");
        assert!(found[0].path.ends_with("virtual_hosts[0].domains"), "{found:?}");
    }

    #[test]
    fn a_required_oneof_and_an_undefined_enum_number() {
        let found = problems(&cluster("    lb_policy: 42\n"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "static_resources.clusters[0].lb_policy");
        assert!(found[0].message.starts_with("value must be one of the defined enum values"), "{found:?}");
        let found = problems("admin:\n  address: {}\n");
        assert_eq!(found[0].path, "admin.address");
        assert!(found[0].message.starts_with("one of socket_address, pipe"), "{found:?}");
        assert_eq!(found[0].line, Some(2));
    }

    #[test]
    fn rules_on_wrapped_numbers_apply_to_the_number() {
        // enforcing_consecutive_5xx is a google.protobuf.UInt32Value with `uint32 = {lte: 100}`.
        let found = problems(&cluster("    outlier_detection:\n      enforcing_consecutive_5xx: 101\n"));
        assert_eq!(found[0].path, "static_resources.clusters[0].outlier_detection.enforcing_consecutive_5xx");
        assert_eq!(found[0].message, "value must be less than or equal to 100");
        assert_eq!(found[0].line, Some(5));
    }

    #[test]
    fn rules_inside_any_values_are_checked() {
        let found = problems(&DEMO.replace("stat_prefix: demo", "stat_prefix: ''"));
        assert_eq!(found[0].path, "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix");
        assert_eq!(found[0].line, Some(26));
    }

    #[test]
    fn schema_errors_carry_path_and_line() {
        let found = problems(&cluster("    connect_timeout: 5 seconds\n"));
        assert_eq!(found[0].path, "static_resources.clusters[0].connect_timeout");
        assert_eq!(found[0].line, Some(4));
        let found = problems(&DEMO.replace("static_resources:", "static_resourcs:"));
        assert_eq!(found[0].path, "static_resourcs");
        assert_eq!(found[0].message, "unrecognized field name 'static_resourcs'");
        let found = problems("- a\n");
        assert_eq!(found[0].path, "");
    }

    #[test]
    fn header_names_map_keys_and_json_names() {
        // HeaderValue.key: min_len 1, well_known_regex HTTP_HEADER_NAME, strict false.
        let headers = "domains: [\"*\"]\n                      request_headers_to_add:\n                        - header: {key: \"x-a\\nb\", value: v}";
        let found = problems(&DEMO.replace("domains: [\"*\"]", headers));
        assert_eq!(found[0].message, "value must not contain NUL, CR or LF");
        assert!(found[0].path.ends_with("virtual_hosts[0].request_headers_to_add[0].header.key"), "{found:?}");
        assert_eq!(found[0].line, Some(33));
        // Map keys are path steps; lowerCamelCase names find their line too.
        let yaml = "staticResources:\n  clusters:\n  - name: a\n    typedExtensionProtocolOptions:\n      x:\n        \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n        upstreamLogOptions: {flushUpstreamLogOnUpstreamStream: true, upstreamLogFlushInterval: -1s}\n";
        let found = problems(yaml);
        assert_eq!(
            found[0].path,
            "static_resources.clusters[0].typed_extension_protocol_options.x.upstream_log_options.upstream_log_flush_interval"
        );
        assert_eq!(found[0].message, "value must be greater than or equal to 0.001s");
        assert_eq!(found[0].line, Some(7));
    }
}
