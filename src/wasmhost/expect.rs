//! Compares a case's expectations with what the host observed, one readable line per
//! difference: `request_headers.x-auth-user: expected "admin", got nothing`.

use std::collections::BTreeMap;

use super::results::{LogLine, Observed};
use super::scenario::{ActionName, Expect, LocalResponseExpect, LogExpect, Pairs};

const CALLBACK_NAMES: &[&str] = &[
    "request_headers",
    "request_body",
    "request_trailers",
    "response_headers",
    "response_body",
    "response_trailers",
    "new_connection",
    "downstream_data",
    "upstream_data",
];

pub fn compare(expect: &Expect, observed: &Observed, http: bool) -> Vec<String> {
    let mut out = Vec::new();

    for call in observed.http_calls.iter().filter(|c| c.unmatched) {
        out.push(format!(
            "http_calls: the filter called cluster {:?} ({} {}), but the scenario declares no answer for it \
             (add one under http_calls; it was answered with a failure)",
            call.cluster,
            call.header(":method").unwrap_or("?"),
            call.header(":path").unwrap_or("?"),
        ));
    }

    if let Some(want) = expect.action {
        let first = if http { "request_headers" } else { "new_connection" };
        check_action(&mut out, "action", first, want, observed);
    }
    for (name, want) in &expect.actions {
        if CALLBACK_NAMES.contains(&name.as_str()) {
            check_action(&mut out, &format!("actions.{name}"), name, *want, observed);
        } else {
            out.push(format!("actions.{name}: not a callback gw reports; use one of {}", CALLBACK_NAMES.join(", ")));
        }
    }

    match (&expect.local_response, &observed.local_response) {
        (None, _) => {}
        (Some(LocalResponseExpect::None), None) | (Some(LocalResponseExpect::Any), Some(_)) => {}
        (Some(LocalResponseExpect::None), Some(got)) => {
            out.push(format!("local_response: expected none, got status {} with body {}", got.status, quote(&got.body)))
        }
        (Some(_), None) => out.push(format!(
            "local_response: expected a local response, got none ({})",
            if observed.forwarded { "the request went upstream" } else { "the request stopped without one" }
        )),
        (Some(LocalResponseExpect::Like(want)), Some(got)) => {
            if let Some(status) = want.status
                && status != got.status
            {
                out.push(format!("local_response.status: expected {status}, got {}", got.status));
            }
            if let Some(body) = &want.body
                && body.as_bytes() != got.body.as_slice()
            {
                out.push(format!("local_response.body: expected {body:?}, got {}", quote(&got.body)));
            }
            if let Some(details) = &want.details
                && *details != got.details
            {
                out.push(format!("local_response.details: expected {details:?}, got {:?}", got.details));
            }
            check_headers(&mut out, "local_response.headers", &want.headers, &got.headers);
        }
    }

    check_headers(&mut out, "request_headers", &expect.request_headers, &observed.request_headers);
    check_absent(&mut out, "request_headers_absent", &expect.request_headers_absent, &observed.request_headers);
    check_headers(&mut out, "request_trailers", &expect.request_trailers, &observed.request_trailers);
    check_headers(&mut out, "response_headers", &expect.response_headers, &observed.response_headers);
    check_absent(&mut out, "response_headers_absent", &expect.response_headers_absent, &observed.response_headers);
    check_headers(&mut out, "response_trailers", &expect.response_trailers, &observed.response_trailers);
    check_bytes(&mut out, "request_body", &expect.request_body, &observed.request_body);
    check_bytes(&mut out, "response_body", &expect.response_body, &observed.response_body);
    check_bytes(&mut out, "upstream_data", &expect.upstream_data, &observed.upstream_data);
    check_bytes(&mut out, "downstream_data", &expect.downstream_data, &observed.downstream_data);
    if let Some(want) = expect.forwarded
        && want != observed.forwarded
    {
        out.push(format!("forwarded: expected {want}, got {}", observed.forwarded));
    }
    if let Some(want) = expect.closed
        && want != observed.closed
    {
        out.push(format!("closed: expected {want}, got {}", observed.closed));
    }

    for (name, want) in &expect.metrics {
        match observed.metrics.get(name) {
            Some(got) if got == want => {}
            Some(got) => out.push(format!("metrics.{name}: expected {want}, got {got}")),
            None => out.push(format!("metrics.{name}: expected {want}, got nothing (no metric of that name)")),
        }
    }

    for want in &expect.logs_contain {
        if !observed.logs.iter().any(|l| log_matches(want, l)) {
            out.push(format!(
                "logs_contain: expected a {}line containing {:?}, got none among {}",
                want.level.map(|l| format!("{l} ")).unwrap_or_default(),
                want.message,
                describe_logs(&observed.logs)
            ));
        }
    }
    for want in &expect.logs_absent {
        if let Some(line) = observed.logs.iter().find(|l| log_matches(want, l)) {
            out.push(format!(
                "logs_absent: expected no line containing {:?}, got {}: {:?}",
                want.message, line.level, line.message
            ));
        }
    }

    check_calls(&mut out, expect, observed);
    check_map(&mut out, "properties", &expect.properties, &observed.properties_set);
    check_map(&mut out, "shared_data", &expect.shared_data, &observed.shared_data);
    out
}

fn check_action(out: &mut Vec<String>, key: &str, callback: &str, want: ActionName, observed: &Observed) {
    match observed.callbacks.iter().rev().find(|c| c.name == callback) {
        Some(call) if ActionName::from_raw(call.action) == want => {}
        Some(call) => out.push(format!(
            "{key}: expected {want}, got {} (proxy_on_{callback} returned {})",
            ActionName::from_raw(call.action),
            call.action
        )),
        None => out.push(format!("{key}: expected {want}, got nothing (proxy_on_{callback} was not called)")),
    }
}

/// Header values match the single value, or all values joined with ", ".
fn check_headers(out: &mut Vec<String>, key: &str, want: &Pairs, got: &[(String, String)]) {
    for (name, value) in &want.0 {
        let values: Vec<&str> =
            got.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
        if values.is_empty() {
            out.push(format!("{key}.{name}: expected {value:?}, got nothing"));
        } else if !values.contains(&value.as_str()) && values.join(", ") != *value {
            let shown: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
            out.push(format!("{key}.{name}: expected {value:?}, got {}", shown.join(" and ")));
        }
    }
}

fn check_absent(out: &mut Vec<String>, key: &str, names: &[String], got: &[(String, String)]) {
    for name in names {
        if let Some((_, value)) = got.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            out.push(format!("{key}.{name}: expected no such header, got {value:?}"));
        }
    }
}

fn check_bytes(out: &mut Vec<String>, key: &str, want: &Option<String>, got: &[u8]) {
    if let Some(want) = want
        && want.as_bytes() != got
    {
        out.push(format!("{key}: expected {want:?}, got {}", quote(got)));
    }
}

fn check_map(out: &mut Vec<String>, key: &str, want: &BTreeMap<String, String>, got: &BTreeMap<String, Vec<u8>>) {
    for (name, value) in want {
        match got.get(name) {
            Some(v) if v.as_slice() == value.as_bytes() => {}
            Some(v) => out.push(format!("{key}.{name}: expected {value:?}, got {}", quote(v))),
            None => out.push(format!("{key}.{name}: expected {value:?}, got nothing")),
        }
    }
}

fn check_calls(out: &mut Vec<String>, expect: &Expect, observed: &Observed) {
    for (i, want) in expect.http_calls_made.iter().enumerate() {
        let key = format!("http_calls_made[{i}]");
        let Some(got) = observed.http_calls.get(i) else {
            out.push(format!(
                "{key}: expected a call to cluster {:?}, got {} call(s) in all",
                want.cluster,
                observed.http_calls.len()
            ));
            continue;
        };
        if got.cluster != want.cluster {
            out.push(format!("{key}.cluster: expected {:?}, got {:?}", want.cluster, got.cluster));
        }
        for (field, want) in [(":path", &want.path), (":method", &want.method)] {
            if let Some(want) = want
                && got.header(field) != Some(want.as_str())
            {
                let shown = got.header(field).map(|v| format!("{v:?}")).unwrap_or_else(|| "nothing".into());
                out.push(format!("{key}.{}: expected {want:?}, got {shown}", field.trim_start_matches(':')));
            }
        }
        check_headers(out, &format!("{key}.headers"), &want.headers, &got.headers);
        check_bytes(out, &format!("{key}.body"), &want.body, &got.body);
    }
}

fn log_matches(want: &LogExpect, line: &LogLine) -> bool {
    want.level.is_none_or(|l| l == line.level) && line.message.contains(&want.message)
}

fn describe_logs(logs: &[LogLine]) -> String {
    match logs.len() {
        0 => "no log lines".into(),
        n => {
            let shown: Vec<String> = logs.iter().take(10).map(|l| format!("{}: {:?}", l.level, l.message)).collect();
            let more = if n > 10 { format!(", and {} more", n - 10) } else { String::new() };
            format!("{n} line(s): {}{more}", shown.join("; "))
        }
    }
}

/// Bytes for a message: a quoted string, with "nothing" for none.
fn quote(bytes: &[u8]) -> String {
    if bytes.is_empty() { "nothing".into() } else { format!("{:?}", String::from_utf8_lossy(bytes)) }
}
