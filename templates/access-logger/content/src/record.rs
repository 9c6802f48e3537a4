//! The fields of a log line and where each comes from: an Envoy attribute
//! (`request.method`, `response.code`, ...) first, a header second, so the
//! logger works as an access logger and as an HTTP filter alike.

/// Read access to one finished request, as the host offers it.
pub trait Lookup {
    /// An attribute by its path (`["request", "path"]`), as Envoy serializes
    /// it: strings as bytes, integers, timestamps and durations as 8-byte
    /// little-endian int64 (timestamps and durations in nanoseconds).
    fn property(&self, path: &[&str]) -> Option<Vec<u8>>;
    fn request_header(&self, name: &str) -> Option<String>;
    fn response_header(&self, name: &str) -> Option<String>;
}

/// A JSON value of a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Text(String),
    /// Already formatted as a JSON number.
    Number(String),
}

macro_rules! fields {
    ($($variant:ident => $name:literal,)*) => {
        /// A field of the log line; its JSON key is its name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Field { $($variant,)* }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Field::$variant => $name,)* }
            }
        }
    };
}

fields! {
    StartTime => "start_time",
    Method => "method",
    Path => "path",
    Authority => "authority",
    Protocol => "protocol",
    Status => "status",
    DurationMs => "duration_ms",
    BytesReceived => "bytes_received",
    BytesSent => "bytes_sent",
    UpstreamHost => "upstream_host",
    DownstreamAddress => "downstream_address",
    UserAgent => "user_agent",
    RequestId => "request_id",
}

impl Field {
    pub fn parse(name: &str) -> Result<Field, String> {
        Field::ALL.iter().copied().find(|f| f.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
            format!("unknown field '{name}'; known: {}", known.join(", "))
        })
    }

    /// This field's value for the request behind `lookup`.
    pub fn value(self, lookup: &dyn Lookup) -> Value {
        let text = |path: &[&str], header: Option<&str>| {
            lookup
                .property(path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .or_else(|| header.and_then(|h| lookup.request_header(h)))
                .map_or(Value::Null, Value::Text)
        };
        let int = |path: &[&str]| lookup.property(path).and_then(|b| int64(&b));
        let number = |n: Option<i64>| n.map_or(Value::Null, |n| Value::Number(n.to_string()));
        match self {
            Field::StartTime => int(&["request", "time"]).map_or(Value::Null, |ns| Value::Text(rfc3339(ns))),
            Field::Method => text(&["request", "method"], Some(":method")),
            Field::Path => text(&["request", "path"], Some(":path")),
            Field::Authority => text(&["request", "host"], Some(":authority")),
            Field::Protocol => text(&["request", "protocol"], None),
            Field::Status => number(
                int(&["response", "code"]).or_else(|| lookup.response_header(":status").and_then(|s| s.parse().ok())),
            ),
            Field::DurationMs => int(&["request", "duration"])
                .map_or(Value::Null, |ns| Value::Number(format!("{}.{:03}", ns / 1_000_000, (ns % 1_000_000) / 1_000))),
            Field::BytesReceived => number(int(&["request", "total_size"])),
            Field::BytesSent => number(int(&["response", "total_size"])),
            Field::UpstreamHost => text(&["upstream", "address"], None),
            Field::DownstreamAddress => text(&["source", "address"], None),
            Field::UserAgent => text(&["request", "useragent"], Some("user-agent")),
            Field::RequestId => text(&["request", "id"], Some("x-request-id")),
        }
    }
}

/// An int64 attribute: 8 little-endian bytes, or (from simpler hosts) decimal text.
fn int64(bytes: &[u8]) -> Option<i64> {
    match <[u8; 8]>::try_from(bytes) {
        Ok(raw) => Some(i64::from_le_bytes(raw)),
        Err(_) => std::str::from_utf8(bytes).ok()?.trim().parse().ok(),
    }
}

/// Nanoseconds since the Unix epoch as RFC 3339 UTC with milliseconds
/// (`2025-06-15T15:06:40.123Z`).
pub fn rfc3339(ns: i64) -> String {
    let ms = ns.div_euclid(1_000_000);
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
pub mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A finished request, as a test describes it.
    #[derive(Default)]
    pub struct FakeRequest {
        pub properties: HashMap<String, Vec<u8>>,
        pub request_headers: HashMap<String, String>,
        pub response_headers: HashMap<String, String>,
    }

    impl FakeRequest {
        pub fn with_text(mut self, path: &str, value: &str) -> Self {
            self.properties.insert(path.into(), value.as_bytes().to_vec());
            self
        }

        pub fn with_int(mut self, path: &str, value: i64) -> Self {
            self.properties.insert(path.into(), value.to_le_bytes().to_vec());
            self
        }

        pub fn with_header(mut self, name: &str, value: &str) -> Self {
            self.request_headers.insert(name.into(), value.into());
            self
        }
    }

    impl Lookup for FakeRequest {
        fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
            self.properties.get(&path.join(".")).cloned()
        }
        fn request_header(&self, name: &str) -> Option<String> {
            self.request_headers.get(name).cloned()
        }
        fn response_header(&self, name: &str) -> Option<String> {
            self.response_headers.get(name).cloned()
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn number(s: &str) -> Value {
        Value::Number(s.into())
    }

    #[test]
    fn attributes_first() {
        let request = FakeRequest::default()
            .with_text("request.method", "POST")
            .with_header(":method", "GET")
            .with_int("response.code", 503)
            .with_int("request.duration", 12_345_678)
            .with_int("request.time", 1_750_000_000_123_000_000)
            .with_text("upstream.address", "10.0.0.7:8080");
        assert_eq!(Field::Method.value(&request), text("POST"));
        assert_eq!(Field::Status.value(&request), number("503"));
        assert_eq!(Field::DurationMs.value(&request), number("12.345"));
        assert_eq!(Field::StartTime.value(&request), text("2025-06-15T15:06:40.123Z"));
        assert_eq!(Field::UpstreamHost.value(&request), text("10.0.0.7:8080"));
    }

    #[test]
    fn headers_second() {
        let mut request = FakeRequest::default().with_header(":path", "/x?y=1").with_header("user-agent", "curl/8.5.0");
        request.response_headers.insert(":status".into(), "404".into());
        assert_eq!(Field::Path.value(&request), text("/x?y=1"));
        assert_eq!(Field::UserAgent.value(&request), text("curl/8.5.0"));
        assert_eq!(Field::Status.value(&request), number("404"));
        assert_eq!(Field::Protocol.value(&request), Value::Null);
        assert_eq!(Field::DurationMs.value(&request), Value::Null);
    }

    #[test]
    fn integers_as_text_from_simple_hosts() {
        let request = FakeRequest::default().with_text("response.code", "200");
        assert_eq!(Field::Status.value(&request), number("200"));
    }

    #[test]
    fn field_names() {
        assert_eq!(Field::parse("duration_ms"), Ok(Field::DurationMs));
        assert!(Field::parse("latency").unwrap_err().contains("duration_ms"));
        for field in Field::ALL {
            assert_eq!(Field::parse(field.name()), Ok(*field));
        }
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(4_102_444_799_999_000_000), "2099-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(-1_000_000), "1969-12-31T23:59:59.999Z");
    }
}
