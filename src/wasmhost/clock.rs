//! The virtual clock: scenarios set its start, and only `tick` steps move it, so a run repeats
//! exactly. The filter reads it through `proxy_get_current_time_nanoseconds` and WASI's
//! `clock_time_get`.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Clock {
    pub start_ns: u64,
    pub now_ns: u64,
}

impl Clock {
    pub(crate) fn starting_at(start_ns: u64) -> Clock {
        Clock { start_ns, now_ns: start_ns }
    }

    pub(crate) fn wall() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
    }

    /// Monotonic time starts at one second, so that zero never looks like "unset".
    pub(crate) fn monotonic_ns(&self) -> u64 {
        1_000_000_000 + self.now_ns.saturating_sub(self.start_ns)
    }
}

/// Parses the scenario's `time`: unix seconds, or RFC 3339 (`2024-05-01T12:00:00Z`,
/// `2024-05-01T14:00:00.5+02:00`), as jiff reads it (it refuses `2024-02-30` and the like).
/// Returns nanoseconds since the epoch, which must fit proxy-wasm's u64 (until 2554).
pub(crate) fn parse_time(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let too_far = || format!("{text:?} is too far away: proxy-wasm's clock counts u64 nanoseconds from 1970 to 2554");
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: u64 = text.parse().map_err(|_| too_far())?;
        return seconds.checked_mul(1_000_000_000).ok_or_else(too_far);
    }
    let timestamp: jiff::Timestamp = text.parse().map_err(|e| {
        format!("{text:?} is neither unix seconds nor an RFC 3339 time like 2024-05-01T12:00:00Z ({e})")
    })?;
    let nanos = timestamp.as_nanosecond();
    if nanos < 0 {
        return Err(format!("{text:?} is before 1970"));
    }
    u64::try_from(nanos).map_err(|_| too_far())
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn parses_rfc3339_and_unix_seconds() {
        assert_eq!(parse_time("0").unwrap(), 0);
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000_000_000);
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_time("2024-01-01T00:00:00Z").unwrap(), 1_704_067_200_000_000_000);
        assert_eq!(parse_time("2024-02-29T12:30:15.25Z").unwrap(), 1_709_209_815_250_000_000);
        assert_eq!(parse_time("2024-01-01T02:00:00+02:00").unwrap(), 1_704_067_200_000_000_000);
        assert!(parse_time("2024-13-01T00:00:00Z").is_err());
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2024-01-01T00:00:00").is_err());
        assert!(parse_time("2024-02-30T00:00:00Z").is_err(), "no such day");
        assert!(parse_time("2024-01-01T00:00:00+0é00").is_err(), "not ASCII: refused, no panic");
        assert!(parse_time("2600-01-01T00:00:00Z").unwrap_err().contains("too far away"), "no wrap-around");
        assert!(parse_time("1969-12-31T23:59:59Z").unwrap_err().contains("before 1970"));
        assert!(parse_time("99999999999999999999").unwrap_err().contains("too far away"));
    }
}
