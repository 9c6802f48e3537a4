//! The protoc-gen-validate rules Envoy writes into its API, checked over a decoded message.
//!
//! Envoy runs these checks itself when it loads a config; this walker reads the same
//! `(validate.rules)` field options from the descriptor pool, so gw reports the same violations
//! before Envoy starts. Enforced (with PGV's semantics: proto3 scalars are checked even when left
//! at their zero value, unset messages and unset oneof members are not, `ignore_empty` is honoured):
//!
//! - messages: `(validate.disabled)`, `(validate.ignored)`; oneofs: `(validate.required)`;
//! - `message.required`, `message.skip`, `any.required`/`in`/`not_in`, `duration.required`;
//! - numbers (all ten scalar kinds, and their `google.protobuf.*Value` wrappers):
//!   `const`, `lt`, `lte`, `gt`, `gte` (an inverted pair means "outside"), `in`, `not_in`;
//! - `bool.const`; `enum.const`, `enum.defined_only`, `enum.in`, `enum.not_in`;
//! - `string`: `const`, `len`, `min_len`, `max_len`, `len_bytes`, `min_bytes`, `max_bytes`, `pattern`,
//!   `prefix`, `suffix`, `contains`, `not_contains`, `in`, `not_in`, `well_known_regex`
//!   (HTTP header name/value, strict or not); `bytes`: `len`, `min_len`, `max_len`;
//! - `duration`: `const`, `lt`, `lte`, `gt`, `gte`, `in`, `not_in`;
//! - `repeated`: `min_items`, `max_items`, `items`; `map`: `min_pairs`, `max_pairs`, `keys`, `values`;
//! - the walk goes into list items, map values and the message packed in every `Any`.
//!
//! Not enforced: `timestamp` rules, the string/bytes address formats (`email`, `hostname`, `ip`,
//! `uri`, ...), `repeated.unique`, `map.no_sparse`. Envoy's API uses few or none of them.

use std::borrow::Cow;
use std::fmt::{self, Display};
use std::sync::LazyLock;

use prost_reflect::{DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};
use regex::Regex;

/// One step of a field path: a field, a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A field, by its proto name and its JSON (lowerCamelCase) name; YAML may use either.
    Field {
        name: String,
        json: String,
    },
    Key(String),
    Index(usize),
}

/// Renders a path the way serde_norway does in its own errors: `a.b[0].c`.
pub(crate) fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Field { name, .. } | Seg::Key(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

pub(crate) struct Violation {
    pub path: Vec<Seg>,
    pub message: String,
}

/// Every rule `message` (and what it contains) breaks, in field order.
pub(crate) fn check(message: &DynamicMessage) -> Vec<Violation> {
    let pool = message.descriptor().parent_pool().clone();
    let ext = |name: &str| pool.get_extension_by_name(name);
    let mut walker = Walker {
        rules: ext("validate.rules"),
        disabled: ext("validate.disabled"),
        ignored: ext("validate.ignored"),
        oneof_required: ext("validate.required"),
        path: Vec::new(),
        out: Vec::new(),
    };
    walker.message(message);
    walker.out
}

struct Walker {
    rules: Option<ExtensionDescriptor>,
    disabled: Option<ExtensionDescriptor>,
    ignored: Option<ExtensionDescriptor>,
    oneof_required: Option<ExtensionDescriptor>,
    path: Vec<Seg>,
    out: Vec<Violation>,
}

fn flag(options: &DynamicMessage, ext: &Option<ExtensionDescriptor>) -> bool {
    ext.as_ref().is_some_and(|ext| options.has_extension(ext) && options.get_extension(ext).as_bool() == Some(true))
}

/// A set field of a rules message (proto2: presence is explicit).
fn get(rules: &DynamicMessage, name: &str) -> Option<Value> {
    rules.has_field_by_name(name).then(|| rules.get_field_by_name(name).map(|v| v.into_owned())).flatten()
}

fn is_true(rules: &DynamicMessage, name: &str) -> bool {
    get(rules, name).and_then(|v| v.as_bool()).unwrap_or(false)
}

fn list(rules: &DynamicMessage, name: &str) -> Vec<Value> {
    rules.get_field_by_name(name).and_then(|v| v.as_list().map(<[Value]>::to_vec)).unwrap_or_default()
}

fn sub(rules: &DynamicMessage, name: &str) -> Option<DynamicMessage> {
    get(rules, name).and_then(|v| v.as_message().cloned())
}

/// Envoy accepts these in an `Any` for the message their `type_url` names, given as JSON in
/// `value`, and unpacks them before it checks anything.
const TYPED_STRUCTS: [&str; 2] = ["xds.type.v3.TypedStruct", "udpa.type.v1.TypedStruct"];

impl Walker {
    /// A TypedStruct: its `value` read as the message `type_url` names, and checked like one.
    fn typed_struct(&mut self, message: &DynamicMessage) {
        let url = message.get_field_by_name("type_url").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let name = url.rsplit('/').next().unwrap_or(&url).to_owned();
        self.path.push(Seg::Field { name: "type_url".into(), json: "typeUrl".into() });
        let Some(target) = message.descriptor().parent_pool().get_message_by_name(&name) else {
            self.report(format!("unknown type_url '{url}': Envoy's API has no message {name}"));
            return self.path.truncate(self.path.len() - 1);
        };
        self.path.pop();
        let value = message.get_field_by_name("value").map(|v| v.into_owned());
        let json = match value.as_ref().and_then(Value::as_message) {
            Some(structure) => serde_json::to_value(structure).unwrap_or_default(),
            None => serde_json::Value::Object(Default::default()),
        };
        self.path.push(Seg::Field { name: "value".into(), json: "value".into() });
        match DynamicMessage::deserialize(target, json) {
            Ok(inner) => self.message(&inner),
            Err(e) => self.report(format!("as {name}: {e}")),
        }
        self.path.pop();
    }

    fn report(&mut self, message: impl Into<String>) {
        self.out.push(Violation { path: self.path.clone(), message: message.into() });
    }

    fn field_rules(&self, field: &FieldDescriptor) -> Option<DynamicMessage> {
        let ext = self.rules.as_ref()?;
        let options = field.options();
        options.has_extension(ext).then(|| options.get_extension(ext).as_message().cloned()).flatten()
    }

    fn message(&mut self, message: &DynamicMessage) {
        let desc = message.descriptor();
        let options = desc.options();
        if flag(&options, &self.disabled) || flag(&options, &self.ignored) {
            return;
        }
        if desc.full_name() == "google.protobuf.Any" {
            // The packed message's fields sit right under the Any in YAML, so the path goes on.
            let type_url = message.get_field_by_name("type_url").and_then(|v| v.as_str().map(str::to_owned));
            let bytes = message.get_field_by_name("value").and_then(|v| v.as_bytes().cloned());
            let name = type_url.as_deref().map(|url| url.rsplit('/').next().unwrap_or(url));
            if let (Some(name), Some(bytes)) = (name, bytes)
                && let Some(packed) = desc.parent_pool().get_message_by_name(name)
                && let Ok(inner) = DynamicMessage::decode(packed, bytes)
            {
                self.message(&inner);
            }
            return;
        }
        if TYPED_STRUCTS.contains(&desc.full_name()) {
            return self.typed_struct(message);
        }
        for oneof in desc.oneofs().filter(|o| !o.is_synthetic()) {
            if flag(&oneof.options(), &self.oneof_required) && !oneof.fields().any(|f| message.has_field(&f)) {
                let names: Vec<_> = oneof.fields().map(|f| f.name().to_owned()).collect();
                self.report(format!("one of {} is required", names.join(", ")));
            }
        }
        for field in desc.fields() {
            self.path.push(Seg::Field { name: field.name().to_owned(), json: field.json_name().to_owned() });
            self.field(message, &field);
            self.path.pop();
        }
    }

    fn field(&mut self, message: &DynamicMessage, field: &FieldDescriptor) {
        let rules = self.field_rules(field);
        let value = message.get_field(field);
        if field.is_map() {
            return self.map(field, &value, rules.as_ref());
        }
        if field.is_list() {
            return self.list(field, &value, rules.as_ref());
        }
        let set = message.has_field(field);
        if field.containing_oneof().is_some() && !set {
            return;
        }
        if let Kind::Message(_) = field.kind() {
            if !set {
                let required = rules.as_ref().is_some_and(|r| {
                    ["message", "duration", "any", "timestamp"]
                        .iter()
                        .any(|kind| sub(r, kind).is_some_and(|k| is_true(&k, "required")))
                });
                if required {
                    self.report("value is required");
                }
                return;
            }
            let skip = rules.as_ref().and_then(|r| sub(r, "message")).is_some_and(|m| is_true(&m, "skip"));
            if let Some(rules) = &rules {
                self.value(rules, &value, &field.kind());
            }
            if let (false, Some(inner)) = (skip, value.as_message()) {
                self.message(inner);
            }
            return;
        }
        if let Some(rules) = &rules {
            self.value(rules, &value, &field.kind());
        }
    }

    /// `min_<things>` and `max_<things>` of a repeated or map field's rules.
    fn count(&mut self, rules: &DynamicMessage, count: usize, things: &str, thing: &str) {
        let count = count as u64;
        if let Some(min) = get(rules, &format!("min_{things}")).and_then(|v| v.as_u64())
            && count < min
        {
            self.report(format!("value must contain at least {min} {thing}(s)"));
        }
        if let Some(max) = get(rules, &format!("max_{things}")).and_then(|v| v.as_u64())
            && count > max
        {
            self.report(format!("value must contain at most {max} {thing}(s)"));
        }
    }

    fn list(&mut self, field: &FieldDescriptor, value: &Value, rules: Option<&DynamicMessage>) {
        let items = value.as_list().unwrap_or_default();
        let repeated = rules.and_then(|r| sub(r, "repeated"));
        let mut item_rules = None;
        if let Some(r) = &repeated {
            if !(items.is_empty() && is_true(r, "ignore_empty")) {
                self.count(r, items.len(), "items", "item");
            }
            item_rules = sub(r, "items");
        }
        let skip = item_rules.as_ref().and_then(|r| sub(r, "message")).is_some_and(|m| is_true(&m, "skip"));
        for (i, item) in items.iter().enumerate() {
            self.path.push(Seg::Index(i));
            if let Some(r) = &item_rules {
                self.value(r, item, &field.kind());
            }
            if let (false, Some(inner)) = (skip, item.as_message()) {
                self.message(inner);
            }
            self.path.pop();
        }
    }

    fn map(&mut self, field: &FieldDescriptor, value: &Value, rules: Option<&DynamicMessage>) {
        let Some(pairs) = value.as_map() else { return };
        let Kind::Message(entry) = field.kind() else { return };
        let map = rules.and_then(|r| sub(r, "map"));
        let (mut key_rules, mut value_rules) = (None, None);
        if let Some(r) = &map {
            if !(pairs.is_empty() && is_true(r, "ignore_empty")) {
                self.count(r, pairs.len(), "pairs", "pair");
            }
            (key_rules, value_rules) = (sub(r, "keys"), sub(r, "values"));
        }
        let mut keys: Vec<_> = pairs.iter().map(|(k, v)| (key_text(k), k, v)).collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (text, key, item) in keys {
            self.path.push(Seg::Key(text));
            if let Some(r) = &key_rules {
                self.value(r, &Value::from(key.clone()), &entry.map_entry_key_field().kind());
            }
            if let Some(r) = &value_rules {
                self.value(r, item, &entry.map_entry_value_field().kind());
            }
            if let Some(inner) = item.as_message() {
                self.message(inner);
            }
            self.path.pop();
        }
    }

    /// The type-specific rules (the `FieldRules.type` oneof) applied to one value.
    fn value(&mut self, rules: &DynamicMessage, value: &Value, kind: &Kind) {
        let Some(field) = rules.descriptor().oneofs().find(|o| o.name() == "type").and_then(|o| {
            o.fields().find(|f| rules.has_field(f)) // at most one is set
        }) else {
            return;
        };
        let Some(r) = rules.get_field(&field).as_message().cloned() else { return };
        let value = unwrap_wrapper(value);
        let problem = match field.name() {
            "string" => value.as_str().and_then(|s| string(&r, s)),
            "bytes" => value.as_bytes().and_then(|b| bytes(&r, b)),
            "bool" => get(&r, "const").filter(|c| c != &*value).map(|c| format!("value must equal {c}")),
            "enum" => value.as_enum_number().and_then(|n| enumeration(&r, n, kind)),
            "duration" => value.as_message().and_then(|m| duration(&r, m)),
            "any" => value.as_message().and_then(|m| any(&r, m)),
            "repeated" | "map" | "timestamp" => None,
            _ => number(&r, &value),
        };
        if let Some(problem) = problem {
            self.report(problem);
        }
    }
}

fn key_text(key: &MapKey) -> String {
    match key {
        MapKey::String(s) => s.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}

/// Scalar rules on a `google.protobuf.UInt32Value` (and friends) apply to what it wraps.
fn unwrap_wrapper(value: &Value) -> Cow<'_, Value> {
    if let Value::Message(m) = value {
        let name = m.descriptor().full_name().to_owned();
        if name.starts_with("google.protobuf.")
            && name.ends_with("Value")
            && name != "google.protobuf.Value"
            && let Some(inner) = m.get_field_by_name("value")
        {
            return inner;
        }
    }
    Cow::Borrowed(value)
}

/// A number or a duration, compared as PGV does: `lt`/`lte` and `gt`/`gte` together mean
/// "inside", or "outside" when the upper bound is below the lower one.
fn bounds<T: PartialOrd + Display>(
    v: &T,
    of: impl Fn(&str) -> Option<T>,
    list: impl Fn(&str) -> Vec<T>,
) -> Option<String> {
    if let Some(c) = of("const")
        && *v != c
    {
        return Some(format!("value must equal {c}"));
    }
    let upper = of("lt").map(|u| (u, false)).or_else(|| of("lte").map(|u| (u, true)));
    let lower = of("gt").map(|l| (l, false)).or_else(|| of("gte").map(|l| (l, true)));
    let below = |(u, eq): &(T, bool)| if *eq { *v <= *u } else { *v < *u };
    let above = |(l, eq): &(T, bool)| if *eq { *v >= *l } else { *v > *l };
    let or_equal = |eq: bool| if eq { " or equal to" } else { "" };
    match (&upper, &lower) {
        (Some(u), Some(l)) if u.0 < l.0 => {
            if !below(u) && !above(l) {
                let (open, close) = (if u.1 { '(' } else { '[' }, if l.1 { ')' } else { ']' });
                return Some(format!("value must be outside range {open}{}, {}{close}", u.0, l.0));
            }
        }
        _ => {
            if let Some(l) = &lower
                && !above(l)
            {
                return Some(format!("value must be greater than{} {}", or_equal(l.1), l.0));
            }
            if let Some(u) = &upper
                && !below(u)
            {
                return Some(format!("value must be less than{} {}", or_equal(u.1), u.0));
            }
        }
    }
    let within = list("in");
    if !within.is_empty() && !within.contains(v) {
        return Some(format!("value must be in list [{}]", join(&within)));
    }
    let not_in = list("not_in");
    if not_in.contains(v) {
        return Some(format!("value must not be in list [{}]", join(&not_in)));
    }
    None
}

fn join<T: Display>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
}

/// Any of the ten scalar number kinds, widened so that one comparison serves them all.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(value: &Value) -> Option<Num> {
        Some(match value {
            Value::I32(n) => Num::Int((*n).into()),
            Value::I64(n) => Num::Int((*n).into()),
            Value::U32(n) => Num::Int((*n).into()),
            Value::U64(n) => Num::Int((*n).into()),
            Value::F32(n) => Num::Float((*n).into()),
            Value::F64(n) => Num::Float(*n),
            _ => return None,
        })
    }
}

impl Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Int(n) => n.fmt(f),
            Num::Float(n) => n.fmt(f),
        }
    }
}

fn number(r: &DynamicMessage, value: &Value) -> Option<String> {
    let v = Num::of(value)?;
    if is_true(r, "ignore_empty") && (v == Num::Int(0) || v == Num::Float(0.0)) {
        return None;
    }
    bounds(
        &v,
        |name| get(r, name).as_ref().and_then(Num::of),
        |name| list(r, name).iter().filter_map(Num::of).collect(),
    )
}

fn enumeration(r: &DynamicMessage, n: i32, kind: &Kind) -> Option<String> {
    if is_true(r, "defined_only")
        && let Kind::Enum(e) = kind
        && e.get_value(n).is_none()
    {
        return Some(format!("value must be one of the defined enum values (got {n})"));
    }
    bounds(
        &Num::Int(n.into()),
        |name| get(r, name).as_ref().and_then(Num::of),
        |name| list(r, name).iter().filter_map(Num::of).collect(),
    )
}

/// A `google.protobuf.Duration` as (seconds, nanos); normalised durations order correctly so.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct Dur(i64, i32);

impl Dur {
    fn of(m: &DynamicMessage) -> Dur {
        let seconds = m.get_field_by_name("seconds").and_then(|v| v.as_i64()).unwrap_or(0);
        Dur(seconds, m.get_field_by_name("nanos").and_then(|v| v.as_i32()).unwrap_or(0))
    }
}

impl Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 || self.1 < 0 { "-" } else { "" };
        let (s, n) = (self.0.unsigned_abs(), self.1.unsigned_abs());
        if n == 0 {
            write!(f, "{sign}{s}s")
        } else {
            write!(f, "{sign}{s}.{}s", format!("{n:09}").trim_end_matches('0'))
        }
    }
}

fn duration(r: &DynamicMessage, m: &DynamicMessage) -> Option<String> {
    let dur = |v: &Value| v.as_message().map(Dur::of);
    bounds(
        &Dur::of(m),
        |name| get(r, name).as_ref().and_then(dur),
        |name| list(r, name).iter().filter_map(dur).collect(),
    )
}

fn any(r: &DynamicMessage, m: &DynamicMessage) -> Option<String> {
    let url = m.get_field_by_name("type_url").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let strings = |name| list(r, name).iter().filter_map(|v| v.as_str().map(str::to_owned)).collect::<Vec<_>>();
    let (within, not_in) = (strings("in"), strings("not_in"));
    if !within.is_empty() && !within.contains(&url) {
        return Some(format!("type URL must be in list [{}]", within.join(", ")));
    }
    not_in.contains(&url).then(|| format!("type URL must not be in list [{}]", not_in.join(", ")))
}

/// `len`/`len_bytes` (exact), `min_*` and `max_*` limits on a length.
fn length(rule: &str, limit: u64, size: u64, unit: &str) -> Option<String> {
    let (fails, how) = match rule {
        r if r.starts_with("min") => (size < limit, "at least "),
        r if r.starts_with("max") => (size > limit, "at most "),
        _ => (size != limit, ""),
    };
    fails.then(|| format!("value length must be {how}{limit} {unit}"))
}

fn bytes(r: &DynamicMessage, b: &[u8]) -> Option<String> {
    if b.is_empty() && is_true(r, "ignore_empty") {
        return None;
    }
    let limit = |name| get(r, name).and_then(|v| v.as_u64());
    ["len", "min_len", "max_len"]
        .into_iter()
        .find_map(|rule| limit(rule).and_then(|l| length(rule, l, b.len() as u64, "bytes")))
}

// The expressions PGV itself uses for `well_known_regex` (RFC 7230), and the loose one for `strict: false`.
static HEADER_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$").unwrap());
static HEADER_VALUE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[^\x00-\x08\x0A-\x1F\x7F]*$").unwrap());
static HEADER_LOOSE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[^\x00\x0A\x0D]*$").unwrap());

fn string(r: &DynamicMessage, s: &str) -> Option<String> {
    if s.is_empty() && is_true(r, "ignore_empty") {
        return None;
    }
    let text = |name| get(r, name).and_then(|v| v.as_str().map(str::to_owned));
    let limit = |name| get(r, name).and_then(|v| v.as_u64());
    let (chars, bytes) = (s.chars().count() as u64, s.len() as u64);
    if let Some(c) = text("const").filter(|c| c != s) {
        return Some(format!("value must equal {c:?}"));
    }
    for (rule, size, unit) in [
        ("len", chars, "characters"),
        ("min_len", chars, "characters"),
        ("max_len", chars, "characters"),
        ("len_bytes", bytes, "bytes"),
        ("min_bytes", bytes, "bytes"),
        ("max_bytes", bytes, "bytes"),
    ] {
        if let Some(problem) = limit(rule).and_then(|l| length(rule, l, size, unit)) {
            return Some(problem);
        }
    }
    if let Some(p) = text("pattern")
        && Regex::new(&p).is_ok_and(|re| !re.is_match(s))
    {
        return Some(format!("value does not match regex pattern {p:?}"));
    }
    for rule in ["prefix", "suffix", "contains", "not_contains"] {
        let Some(t) = text(rule) else { continue };
        let (ok, what) = match rule {
            "prefix" => (s.starts_with(&t), "does not have prefix"),
            "suffix" => (s.ends_with(&t), "does not have suffix"),
            "contains" => (s.contains(&t), "does not contain substring"),
            _ => (!s.contains(&t), "contains substring"),
        };
        if !ok {
            return Some(format!("value {what} {t:?}"));
        }
    }
    let strings = |name| list(r, name).iter().filter_map(|v| v.as_str().map(str::to_owned)).collect::<Vec<_>>();
    let (within, not_in) = (strings("in"), strings("not_in"));
    if !within.is_empty() && !within.iter().any(|w| w == s) {
        return Some(format!("value must be in list [{}]", within.join(", ")));
    }
    if not_in.iter().any(|w| w == s) {
        return Some(format!("value must not be in list [{}]", not_in.join(", ")));
    }
    let strict = get(r, "strict").and_then(|v| v.as_bool()).unwrap_or(true);
    let (regex, what) = match get(r, "well_known_regex").and_then(|v| v.as_enum_number()) {
        Some(1) if strict => (&*HEADER_NAME, "must be a valid HTTP header name"),
        Some(2) if strict => (&*HEADER_VALUE, "must be a valid HTTP header value"),
        Some(1 | 2) => (&*HEADER_LOOSE, "must not contain NUL, CR or LF"),
        _ => return None,
    };
    (!regex.is_match(s)).then(|| format!("value {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: i128, rules: &[(&str, i128)], within: &[i128]) -> Option<String> {
        let of = |name: &str| rules.iter().find(|(n, _)| *n == name).map(|(_, b)| Num::Int(*b));
        let list = |name: &str| if name == "in" { within.iter().map(|n| Num::Int(*n)).collect() } else { vec![] };
        bounds(&Num::Int(v), of, list)
    }

    #[test]
    fn bounds_follow_pgv() {
        assert_eq!(check(5, &[("gt", 1), ("lte", 5)], &[]), None);
        assert_eq!(check(6, &[("gt", 1), ("lte", 5)], &[]).unwrap(), "value must be less than or equal to 5");
        assert_eq!(check(1, &[("gt", 1), ("lte", 5)], &[]).unwrap(), "value must be greater than 1");
        // An upper bound below the lower one asks for a value outside the range.
        assert_eq!(check(0, &[("lt", 1), ("gt", 5)], &[]), None);
        assert_eq!(check(3, &[("lt", 1), ("gt", 5)], &[]).unwrap(), "value must be outside range [1, 5]");
        assert_eq!(check(7, &[("const", 8)], &[]).unwrap(), "value must equal 8");
        assert_eq!(check(7, &[], &[1, 2]).unwrap(), "value must be in list [1, 2]");
    }

    #[test]
    fn durations_print_like_yaml() {
        assert_eq!(Dur(5, 0).to_string(), "5s");
        assert_eq!(Dur(0, 1_000_000).to_string(), "0.001s");
        assert_eq!(Dur(-1, -500_000_000).to_string(), "-1.5s");
        assert!(Dur(0, 1) > Dur(0, 0) && Dur(1, 0) > Dur(0, 999_999_999));
    }

    #[test]
    fn header_expressions() {
        assert!(HEADER_NAME.is_match(":authority") && HEADER_NAME.is_match("x-b3-traceid"));
        assert!(!HEADER_NAME.is_match("bad header") && !HEADER_NAME.is_match(""));
        assert!(HEADER_VALUE.is_match("a\tb") && !HEADER_VALUE.is_match("a\nb"));
        assert!(HEADER_LOOSE.is_match("bad header") && !HEADER_LOOSE.is_match("a\rb"));
    }
}
