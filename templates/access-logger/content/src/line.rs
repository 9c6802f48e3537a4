//! One JSON object per request, on one line, its keys in the configured order.

use crate::record::Value;

/// Writes `{"key":value,...}`; no newline (Envoy's log adds its own).
pub fn build<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> String {
    let mut out = String::with_capacity(256);
    out.push('{');
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(&mut out, key);
        out.push(':');
        match value {
            Value::Null => out.push_str("null"),
            Value::Number(n) => out.push_str(&n),
            Value::Text(s) => push_string(&mut out, &s),
        }
    }
    out.push('}');
    out
}

/// A JSON string (RFC 8259 §7): quotes, backslashes and control characters
/// escaped, so that a request cannot break the line or forge fields.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_types() {
        let line = build([
            ("method", Value::Text("GET".into())),
            ("status", Value::Number("200".into())),
            ("upstream_host", Value::Null),
        ]);
        assert_eq!(line, r#"{"method":"GET","status":200,"upstream_host":null}"#);
        assert_eq!(build([]), "{}");
    }

    #[test]
    fn escapes_what_a_client_controls() {
        let line = build([("user_agent", Value::Text("evil\"}\n{\"admin\":true \\ \u{1} \u{2028} é".into()))]);
        assert_eq!(line, r#"{"user_agent":"evil\"}\n{\"admin\":true \\ \u0001 \u2028 é"}"#);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn output_is_json() {
        let line = build([("a", Value::Text("\u{0}\u{1f}\"\\/".into())), ("b", Value::Number("1.5".into()))]);
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["a"], "\u{0}\u{1f}\"\\/");
        assert_eq!(parsed["b"], 1.5);
    }
}
