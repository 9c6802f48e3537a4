//! YAML as gw writes it for Envoy and for Kubernetes, read the same by both.
//!
//! Envoy (yaml-cpp) and kubectl (go-yaml) still read YAML 1.1, where a plain
//! `yes`, `on`, `n` or `12:30` is not a string, while YAML 1.2 emitters leave
//! those plain: a header value of `yes` reached Envoy as `true`. So a string is
//! written plain only when no reader can take it for anything else (a letter
//! or `/`, then letters, digits, `.`, `_`, `/`, `-`, and not a YAML 1.1 word), and
//! double-quoted with JSON's escapes otherwise, which both versions read.

use serde::Serialize;
use serde_json::Value;

/// `value` as block YAML.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = String::new();
    match &value {
        Value::Object(map) if !map.is_empty() => block(&mut out, &value, 0),
        Value::Array(items) if !items.is_empty() => block(&mut out, &value, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    Ok(out)
}

/// A non-empty map or list, each entry on its own lines at `indent`.
fn block(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                out.push_str(&pad);
                out.push_str(&string(key));
                out.push(':');
                after(out, value, indent);
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                match item {
                    // The map's first key on the dash's line, the rest under it.
                    Value::Object(map) if !map.is_empty() => {
                        let mut nested = String::new();
                        block(&mut nested, item, indent + 2);
                        out.push(' ');
                        out.push_str(&nested[indent + 2..]);
                    }
                    _ => after(out, item, indent),
                }
            }
        }
        _ => unreachable!("block is called with maps and lists"),
    }
}

/// What follows `key:` or `-`: a scalar or empty collection on the line, else a block below.
fn after(out: &mut String, value: &Value, indent: usize) {
    let nested = match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    };
    if nested {
        out.push('\n');
        block(out, value, indent + 2);
    } else {
        out.push(' ');
        out.push_str(&inline(value));
        out.push('\n');
    }
}

fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Words YAML 1.1 reads as booleans or null, in any of their spellings.
const WORDS: [&str; 11] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"];

fn string(text: &str) -> String {
    let mut chars = text.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        && !WORDS.contains(&text.to_ascii_lowercase().as_str());
    // An IPv4 address: no YAML reads two dots as a number.
    let address = text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.matches('.').count() >= 2
        && !text.starts_with('.');
    if plain || address { text.to_string() } else { serde_json::to_string(text).expect("a string serialises") }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strings_yaml_1_1_would_misread_are_quoted() {
        let value = json!({
            "yes": "yes", "on": "On", "n": "N", "time": "12:30", "octal": "0o17", "under": "1_000",
            "empty": "", "spaced": "a b", "lines": "a\nb", "type": "@type", "plain": "envoy.filters.http.router", "ip": "127.0.0.1", "float": "1.5",
            "path": "/api", "number": 8080, "flag": true, "nothing": null
        });
        let yaml = to_string(&value).unwrap();
        for line in [
            "\"yes\": \"yes\"",
            "\"on\": \"On\"",
            "\"n\": \"N\"",
            "time: \"12:30\"",
            "octal: \"0o17\"",
            "under: \"1_000\"",
            "empty: \"\"",
            "spaced: \"a b\"",
            "lines: \"a\\nb\"",
            "type: \"@type\"",
            "plain: envoy.filters.http.router",
            "ip: 127.0.0.1",
            "float: \"1.5\"",
            "path: /api",
            "number: 8080",
            "flag: true",
            "nothing: null",
        ] {
            assert!(yaml.lines().any(|l| l == line), "{line:?} in\n{yaml}");
        }
        let back: Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn nested_maps_and_lists_read_back_the_same() {
        let value = json!({
            "resources": [
                {"@type": "x", "name": "a", "ports": [8080, 9090], "empty": [], "none": {}},
                [1, [2, {"k": "v"}]],
                {"only": {"deep": [{"a": 1, "b": [{"c": "d"}]}]}}
            ],
            "top": {"k": "v"}
        });
        let yaml = to_string(&value).unwrap();
        let back: Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(back, value, "\n{yaml}");
        assert!(yaml.starts_with("resources:\n  - \"@type\": x\n    name: a\n"), "{yaml}");
    }
}
