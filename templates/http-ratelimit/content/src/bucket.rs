//! The token bucket, as plain integer arithmetic, and its compare-and-swap
//! update in a shared store (Envoy's shared data, or a map in the tests).
//!
//! A bucket holds up to `burst` tokens and gains `requests_per_unit` tokens
//! per unit of time; a request takes one. To refill exactly, without floating
//! point or rounding drift, the level is kept in token-milliseconds: one token
//! is `unit_ms` of them, and each elapsed millisecond adds `requests_per_unit`.

/// The configured rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests_per_unit: u64,
    pub unit_ms: u64,
    /// The bucket's size: how many requests may come at once after a quiet spell.
    pub burst: u64,
}

/// A bucket's state, as it is stored (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Tokens × unit_ms.
    level: u64,
    /// When `level` was last brought up to date, in ms since the Unix epoch.
    updated_ms: u64,
}

/// The outcome of one request, with what the `x-ratelimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Whole tokens left after this request.
    pub remaining: u64,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
    /// Seconds until the next token, when this request was refused.
    pub retry_after_seconds: Option<u64>,
}

impl Bucket {
    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.level.to_le_bytes());
        out[8..].copy_from_slice(&self.updated_ms.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Bucket> {
        let bytes: &[u8; 16] = bytes.try_into().ok()?;
        let level = u64::from_le_bytes(bytes[..8].try_into().ok()?);
        let updated_ms = u64::from_le_bytes(bytes[8..].try_into().ok()?);
        Some(Bucket { level, updated_ms })
    }
}

impl Limit {
    fn capacity(&self) -> u64 {
        self.burst * self.unit_ms
    }

    /// A full bucket, as a new client gets.
    pub fn full(&self, now_ms: u64) -> Bucket {
        Bucket { level: self.capacity(), updated_ms: now_ms }
    }

    /// Refills `bucket` up to `now_ms` and takes one token if there is one.
    /// A clock that went backwards refills nothing.
    pub fn take(&self, bucket: Option<Bucket>, now_ms: u64) -> (Bucket, Decision) {
        let bucket = bucket.unwrap_or_else(|| self.full(now_ms));
        let elapsed = now_ms.saturating_sub(bucket.updated_ms);
        let refill = u128::from(elapsed) * u128::from(self.requests_per_unit);
        let mut level = (u128::from(bucket.level) + refill).min(u128::from(self.capacity())) as u64;
        let allowed = level >= self.unit_ms;
        if allowed {
            level -= self.unit_ms;
        }
        let per_ms = self.requests_per_unit;
        let decision = Decision {
            allowed,
            remaining: level / self.unit_ms,
            reset_seconds: ceil_seconds((self.capacity() - level).div_ceil(per_ms)),
            retry_after_seconds: (!allowed).then(|| ceil_seconds((self.unit_ms - level).div_ceil(per_ms)).max(1)),
        };
        (Bucket { level, updated_ms: now_ms.max(bucket.updated_ms) }, decision)
    }

    /// The `x-ratelimit-*` headers for a decision, in the format of Envoy's
    /// rate limit filter (draft-polli-ratelimit-headers-03): the limit with its
    /// quota policy (`10, 10;w=60`), the remaining requests, and the seconds
    /// until the quota is whole again.
    pub fn headers(&self, decision: &Decision) -> Vec<(&'static str, String)> {
        let window = self.unit_ms / 1000;
        let mut headers = vec![
            ("x-ratelimit-limit", format!("{0}, {0};w={window}", self.requests_per_unit)),
            ("x-ratelimit-remaining", decision.remaining.to_string()),
            ("x-ratelimit-reset", decision.reset_seconds.to_string()),
        ];
        if let Some(seconds) = decision.retry_after_seconds {
            headers.push(("retry-after", seconds.to_string()));
        }
        headers
    }
}

fn ceil_seconds(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// Key-value storage with compare-and-swap, like Envoy's shared data: `get`
/// returns the value and its version, `set` succeeds only if the version is
/// still the same (or, with `None`, unconditionally).
pub trait Store {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), SetError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// Another worker wrote first: read again and retry.
    Conflict,
    Other(String),
}

/// How often a request retries after losing a race to other workers.
pub const MAX_ATTEMPTS: usize = 8;

/// Takes a token from the bucket stored under `key`, retrying when another
/// worker updated it in between. `Err` when the store fails or the races go
/// on; the caller decides whether to let the request through.
pub fn take_shared(store: &dyn Store, key: &str, limit: &Limit, now_ms: u64) -> Result<Decision, String> {
    for _ in 0..MAX_ATTEMPTS {
        let (value, version) = store.get(key);
        let bucket = value.as_deref().and_then(Bucket::decode);
        let (bucket, decision) = limit.take(bucket, now_ms);
        match store.set(key, &bucket.encode(), version) {
            Ok(()) => return Ok(decision),
            Err(SetError::Conflict) => continue,
            Err(SetError::Other(e)) => return Err(e),
        }
    }
    Err(format!("{key}: still contended after {MAX_ATTEMPTS} attempts"))
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;

    use super::*;

    const MINUTE: u64 = 60_000;
    const T0: u64 = 1_750_000_000_000;

    fn limit(requests_per_unit: u64, unit_ms: u64, burst: u64) -> Limit {
        Limit { requests_per_unit, unit_ms, burst }
    }

    /// Takes `n` tokens at `now_ms`, returning the last decision.
    fn take_n(limit: &Limit, bucket: &mut Option<Bucket>, now_ms: u64, n: usize) -> Decision {
        let mut last = None;
        for _ in 0..n {
            let (next, decision) = limit.take(*bucket, now_ms);
            *bucket = Some(next);
            last = Some(decision);
        }
        last.unwrap()
    }

    #[test]
    fn burst_then_refusal() {
        let limit = limit(10, MINUTE, 10);
        let mut bucket = None;
        let first = take_n(&limit, &mut bucket, T0, 1);
        assert_eq!(first, Decision { allowed: true, remaining: 9, reset_seconds: 6, retry_after_seconds: None });
        let tenth = take_n(&limit, &mut bucket, T0, 9);
        assert_eq!(tenth, Decision { allowed: true, remaining: 0, reset_seconds: 60, retry_after_seconds: None });
        let refused = take_n(&limit, &mut bucket, T0, 1);
        assert_eq!(refused, Decision { allowed: false, remaining: 0, reset_seconds: 60, retry_after_seconds: Some(6) });
    }

    #[test]
    fn refills_with_time() {
        let limit = limit(10, MINUTE, 10);
        let mut bucket = None;
        take_n(&limit, &mut bucket, T0, 10);
        // One token comes back every 6 s.
        assert!(!take_n(&limit, &mut bucket, T0 + 5_999, 1).allowed);
        let after = take_n(&limit, &mut bucket, T0 + 6_000, 1);
        assert!(after.allowed);
        assert_eq!(after.remaining, 0);
        // Thirty seconds later: five tokens.
        let later = take_n(&limit, &mut bucket, T0 + 36_000, 1);
        assert_eq!((later.allowed, later.remaining), (true, 4));
        // Refused requests do not move the clock back or cost tokens.
        assert!(take_n(&limit, &mut bucket, T0 + 36_000, 4).allowed);
        assert!(!take_n(&limit, &mut bucket, T0 + 36_000, 1).allowed);
        assert!(take_n(&limit, &mut bucket, T0 + 42_000, 1).allowed);
    }

    #[test]
    fn refill_stops_at_the_burst_size() {
        let limit = limit(10, MINUTE, 3);
        let mut bucket = None;
        take_n(&limit, &mut bucket, T0, 3);
        // An hour of quiet refills three tokens, not six hundred.
        assert!(take_n(&limit, &mut bucket, T0 + 3_600_000, 3).allowed);
        assert!(!take_n(&limit, &mut bucket, T0 + 3_600_000, 1).allowed);
    }

    #[test]
    fn no_drift_from_frequent_small_refills() {
        // 1 per second, asked every 250 ms for a minute: exactly 60 of 240 pass
        // after the first burst token is spent.
        let limit = limit(1, 1_000, 1);
        let mut bucket = None;
        let passed = (0..240).filter(|i| take_n(&limit, &mut bucket, T0 + i * 250, 1).allowed).count();
        assert_eq!(passed, 60);
    }

    #[test]
    fn per_second_rates_and_fractions() {
        // 3 per second: a token every 333.3 ms.
        let limit = limit(3, 1_000, 3);
        let mut bucket = None;
        take_n(&limit, &mut bucket, T0, 3);
        assert!(!take_n(&limit, &mut bucket, T0 + 333, 1).allowed);
        assert!(take_n(&limit, &mut bucket, T0 + 334, 1).allowed);
    }

    #[test]
    fn clock_going_backwards_refills_nothing() {
        let limit = limit(10, MINUTE, 1);
        let mut bucket = None;
        take_n(&limit, &mut bucket, T0, 1);
        assert!(!take_n(&limit, &mut bucket, T0 - 60_000, 1).allowed);
        assert!(take_n(&limit, &mut bucket, T0 + 6_000, 1).allowed);
    }

    #[test]
    fn headers() {
        let limit = limit(10, MINUTE, 10);
        let (_, decision) = limit.take(None, T0);
        let headers = limit.headers(&decision);
        assert_eq!(
            headers,
            [
                ("x-ratelimit-limit", "10, 10;w=60".to_string()),
                ("x-ratelimit-remaining", "9".to_string()),
                ("x-ratelimit-reset", "6".to_string())
            ]
        );
        let refused = Decision { allowed: false, remaining: 0, reset_seconds: 60, retry_after_seconds: Some(6) };
        assert_eq!(limit.headers(&refused).last(), Some(&("retry-after", "6".to_string())));
    }

    #[test]
    fn encoding_round_trips() {
        let bucket = Bucket { level: 123_456_789, updated_ms: T0 };
        assert_eq!(Bucket::decode(&bucket.encode()), Some(bucket));
        assert_eq!(Bucket::decode(b"short"), None);
    }

    /// Envoy's shared data in miniature, able to lose a race on purpose.
    #[derive(Default)]
    struct FakeStore {
        data: RefCell<HashMap<String, (Vec<u8>, u32)>>,
        /// Writes by "another worker" to slip in before the next `set`.
        interleave: Cell<usize>,
    }

    impl Store for FakeStore {
        fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
            match self.data.borrow().get(key) {
                Some((value, version)) => (Some(value.clone()), Some(*version)),
                None => (None, None),
            }
        }

        fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), SetError> {
            let mut data = self.data.borrow_mut();
            if self.interleave.get() > 0 {
                // Another worker takes a token from the same bucket first.
                self.interleave.set(self.interleave.get() - 1);
                let limit = limit(10, MINUTE, 10);
                let current = data.get(key).and_then(|(v, _)| Bucket::decode(v));
                let (bucket, _) = limit.take(current, T0);
                let next = data.get(key).map_or(1, |(_, v)| v + 1);
                data.insert(key.to_string(), (bucket.encode().to_vec(), next));
            }
            let current = data.get(key).map(|(_, v)| *v);
            if version.is_some() && version != current {
                return Err(SetError::Conflict);
            }
            data.insert(key.to_string(), (value.to_vec(), current.map_or(1, |v| v + 1)));
            Ok(())
        }
    }

    #[test]
    fn shared_updates_retry_after_a_conflict() {
        let store = FakeStore::default();
        let limit = limit(10, MINUTE, 10);
        assert_eq!(take_shared(&store, "k", &limit, T0).unwrap().remaining, 9);
        // The other worker's token is not lost: after our retry, 10 - 1 - 1 - 1 = 7.
        store.interleave.set(1);
        assert_eq!(take_shared(&store, "k", &limit, T0).unwrap().remaining, 7);
        // Keys are separate buckets.
        assert_eq!(take_shared(&store, "other", &limit, T0).unwrap().remaining, 9);
    }

    #[test]
    fn endless_conflicts_give_up() {
        let store = FakeStore::default();
        let limit = limit(10, MINUTE, 10);
        take_shared(&store, "k", &limit, T0).unwrap();
        store.interleave.set(MAX_ATTEMPTS);
        assert!(take_shared(&store, "k", &limit, T0).is_err());
    }
}
