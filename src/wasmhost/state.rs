//! What the host keeps for one VM (`HostState`, the wasmtime store's data) and what outlives a
//! VM restart (`World`: metrics, shared data, queues, clock, logs), as Envoy keeps its stats and
//! shared data when a crashed VM is replaced.

use std::collections::{BTreeMap, HashMap, VecDeque};

use wasmtime::{Memory, ResourceLimiter, TypedFunc};

use super::clock::Clock;
pub use super::results::LogLevel;
use super::results::{HttpCallRecord, LogLine};

/// proxy-wasm's `proxy_status_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok = 0,
    NotFound = 1,
    BadArgument = 2,
    InvalidMemoryAccess = 6,
    Empty = 7,
    CasMismatch = 8,
    InternalFailure = 10,
}

impl Status {
    pub(crate) fn code(self) -> i32 {
        self as i32
    }
}

/// A header map: ordered, repeatable, names lower-cased as Envoy stores them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HeaderMap(pub Vec<(String, Vec<u8>)>);

impl HeaderMap {
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> HeaderMap {
        HeaderMap(pairs.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec())).collect())
    }

    /// The first value, as Envoy's `proxy_get_header_map_value` returns it.
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        let name = name.to_ascii_lowercase();
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_slice())
    }

    pub(crate) fn add(&mut self, name: &str, value: &[u8]) {
        self.0.push((name.to_ascii_lowercase(), value.to_vec()));
    }

    /// Replaces the first value and drops the others, or appends.
    pub(crate) fn replace(&mut self, name: &str, value: &[u8]) {
        let name = name.to_ascii_lowercase();
        match self.0.iter().position(|(k, _)| *k == name) {
            Some(first) => {
                self.0[first].1 = value.to_vec();
                let mut index = 0;
                self.0.retain(|(k, _)| {
                    let keep = index <= first || *k != name;
                    index += 1;
                    keep
                });
            }
            None => self.0.push((name, value.to_vec())),
        }
    }

    pub(crate) fn remove(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        self.0.retain(|(k, _)| *k != name);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn to_strings(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned())).collect()
    }

    /// proxy-wasm's map encoding: a count, the (key, value) lengths, then each key and value
    /// followed by a NUL. An empty map is empty.
    pub(crate) fn serialize(&self) -> Vec<u8> {
        serialize_pairs(self.0.iter().map(|(k, v)| (k.as_bytes(), v.as_slice())))
    }

    /// Parses the map encoding; `None` when it is malformed.
    pub(crate) fn deserialize(bytes: &[u8]) -> Option<HeaderMap> {
        if bytes.is_empty() {
            return Some(HeaderMap::default());
        }
        let word =
            |at: usize| -> Option<usize> { Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize) };
        let count = word(0)?;
        let mut sizes = Vec::with_capacity(count.min(1024));
        for i in 0..count {
            sizes.push((word(4 + i * 8)?, word(8 + i * 8)?));
        }
        let mut at = 4 + count.checked_mul(8)?;
        let mut pairs = Vec::with_capacity(sizes.len());
        for (key_len, value_len) in sizes {
            let key = bytes.get(at..at.checked_add(key_len)?)?;
            at += key_len + 1;
            let value = bytes.get(at..at.checked_add(value_len)?)?;
            at += value_len + 1;
            pairs.push((String::from_utf8_lossy(key).to_ascii_lowercase(), value.to_vec()));
        }
        Some(HeaderMap(pairs))
    }
}

pub(crate) fn serialize_pairs<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Vec<u8> {
    let count = pairs.clone().count();
    if count == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(count as u32).to_le_bytes());
    for (k, v) in pairs.clone() {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

/// A local response the filter sent with `proxy_send_local_response`.
#[derive(Debug, Clone)]
pub(crate) struct SentLocalResponse {
    pub status: u32,
    pub details: String,
    pub body: Vec<u8>,
    pub headers: HeaderMap,
    pub grpc_status: i32,
}

/// One HTTP request/response pair, as the filter sees it.
#[derive(Debug, Default)]
pub(crate) struct HttpStream {
    pub request_headers: HeaderMap,
    pub request_trailers: HeaderMap,
    pub response_headers: HeaderMap,
    pub response_trailers: HeaderMap,
    /// The body data the current (or paused) callback can see.
    pub request_body: Vec<u8>,
    pub response_body: Vec<u8>,
    /// Set by `proxy_continue_stream`; cleared before each callback.
    pub request_resumed: bool,
    pub response_resumed: bool,
    pub local_response: Option<SentLocalResponse>,
    pub reset: bool,
    pub request_time_ns: u64,
    pub request_body_size: u64,
    pub response_body_size: u64,
    /// Whether response headers exist yet (the properties `response.*` need them).
    pub response_started: bool,
    pub response_code_details: String,
}

/// One TCP connection, as the filter sees it.
#[derive(Debug, Default)]
pub(crate) struct TcpStream {
    pub downstream: Vec<u8>,
    pub upstream: Vec<u8>,
    pub downstream_resumed: bool,
    pub upstream_resumed: bool,
    pub closed: bool,
}

#[derive(Debug)]
pub(crate) enum ContextKind {
    Root,
    Http(Box<HttpStream>),
    Tcp(Box<TcpStream>),
}

#[derive(Debug)]
pub(crate) struct Context {
    pub root_id: u32,
    pub kind: ContextKind,
    /// Values set with `proxy_set_property`, by dotted path.
    pub properties_set: BTreeMap<String, Vec<u8>>,
    /// The case's `properties` overrides, already encoded; `None` hides a property.
    pub overrides: BTreeMap<String, Option<Vec<u8>>>,
    pub connection_id: u64,
}

impl Context {
    pub(crate) fn root() -> Context {
        Context {
            root_id: 0,
            kind: ContextKind::Root,
            properties_set: BTreeMap::new(),
            overrides: BTreeMap::new(),
            connection_id: 0,
        }
    }

    pub(crate) fn http(&self) -> Option<&HttpStream> {
        match &self.kind {
            ContextKind::Http(h) => Some(h),
            _ => None,
        }
    }

    pub(crate) fn http_mut(&mut self) -> Option<&mut HttpStream> {
        match &mut self.kind {
            ContextKind::Http(h) => Some(h),
            _ => None,
        }
    }

    pub(crate) fn tcp_mut(&mut self) -> Option<&mut TcpStream> {
        match &mut self.kind {
            ContextKind::Tcp(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug)]
pub(crate) struct Metric {
    pub name: String,
    pub kind: MetricKind,
    pub value: i64,
    pub samples: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub list: Vec<Metric>,
}

impl Metrics {
    /// Defining the same name and kind again returns the same id, as Envoy's stats do.
    pub(crate) fn define(&mut self, kind: MetricKind, name: &str) -> u32 {
        if let Some(i) = self.list.iter().position(|m| m.name == name && m.kind == kind) {
            return i as u32 + 1;
        }
        self.list.push(Metric { name: name.to_string(), kind, value: 0, samples: 0 });
        self.list.len() as u32
    }

    pub(crate) fn get_mut(&mut self, id: u32) -> Option<&mut Metric> {
        self.list.get_mut((id as usize).checked_sub(1)?)
    }

    /// name → value; a histogram's value is its number of samples.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, i64> {
        self.list
            .iter()
            .map(|m| (m.name.clone(), if m.kind == MetricKind::Histogram { m.samples as i64 } else { m.value }))
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct SharedData {
    pub entries: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
}

impl Default for SharedData {
    fn default() -> Self {
        SharedData { entries: HashMap::new(), next_cas: 1 }
    }
}

impl SharedData {
    /// A `cas` of 0 always writes; otherwise it must match the entry's (a missing entry has
    /// none to match, and is written), as proxy-wasm-cpp-host does.
    pub(crate) fn set(&mut self, key: &str, value: Vec<u8>, cas: u32) -> Status {
        if let Some((_, current)) = self.entries.get(key)
            && cas != 0
            && cas != *current
        {
            return Status::CasMismatch;
        }
        let next = self.next_cas;
        self.next_cas = self.next_cas.checked_add(1).unwrap_or(1);
        self.entries.insert(key.to_string(), (value, next));
        Status::Ok
    }
}

#[derive(Debug)]
pub(crate) struct Queue {
    pub vm_id: String,
    pub name: String,
    pub items: VecDeque<Vec<u8>>,
    /// The root context told by `proxy_on_queue_ready`.
    pub owner: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Queues {
    pub list: Vec<Queue>,
}

impl Queues {
    pub(crate) fn token(&self, vm_id: &str, name: &str) -> Option<u32> {
        self.list.iter().position(|q| q.vm_id == vm_id && q.name == name).map(|i| i as u32 + 1)
    }

    pub(crate) fn get_mut(&mut self, token: u32) -> Option<&mut Queue> {
        self.list.get_mut((token as usize).checked_sub(1)?)
    }
}

/// The plugin's identity and configuration, from the scenario.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plugin {
    pub name: String,
    pub root_id: String,
    pub vm_id: String,
    pub vm_config: Vec<u8>,
    pub plugin_config: Vec<u8>,
    pub log_level: Option<LogLevel>,
    /// File-level property overrides, encoded; `None` hides a property.
    pub overrides: BTreeMap<String, Option<Vec<u8>>>,
}

/// What survives a VM restart within one scenario file.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub plugin: Plugin,
    pub clock: Clock,
    pub tick_period_ms: u32,
    pub next_tick_ns: Option<u64>,
    pub metrics: Metrics,
    pub shared_data: SharedData,
    pub queues: Queues,
    /// The log lines of the case under way (see [`World::begin_case`]).
    pub logs: Vec<LogLine>,
    /// Bytes of them, held under [`crate::limits::CASE_LOG`]; true once lines were dropped.
    pub log_bytes: usize,
    pub logs_dropped: bool,
    pub http_calls: Vec<HttpCallRecord>,
    pub next_call_token: u32,
    pub next_context_id: u32,
    /// splitmix64 state for `random_get`: deterministic, so runs repeat.
    pub random_state: u64,
}

impl World {
    /// A case begins: the log lines of earlier ones go (no later case looks at them) and the
    /// log budget starts again. Returns where this case's HTTP calls begin.
    pub(crate) fn begin_case(&mut self) -> usize {
        self.logs.clear();
        self.log_bytes = 0;
        self.logs_dropped = false;
        self.http_calls.len()
    }
}

/// A call of `proxy_http_call` not yet answered.
#[derive(Debug, Clone)]
pub(crate) struct PendingCall {
    pub token: u32,
    pub root_context: u32,
    /// Index into `World::http_calls`.
    pub record: usize,
}

/// The answer a callback of `proxy_on_http_call_response` can read.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallResponse {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: HeaderMap,
    pub status: (u32, String),
}

/// Why a call into the filter failed, when a host function knows better than the trap.
#[derive(Debug, Clone)]
pub(crate) enum HostFault {
    Unimplemented(String),
    Exit(i32),
}

/// Memory limit over all of a VM's memories together (a module may declare
/// several): refuses growth past it with an error, so the trap names the cause.
#[derive(Debug)]
pub(crate) struct Limiter {
    pub memory_bytes: usize,
    pub refused: Option<usize>,
    /// Bytes of every memory so far.
    pub used: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.used.saturating_sub(current).saturating_add(desired);
        if total > self.memory_bytes {
            self.refused = Some(total);
            return Err(wasmtime::Error::msg(format!(
                "memory limit: the filter asked for {} MiB of memory, over gw's limit of {} MiB",
                desired.div_ceil(1 << 20),
                self.memory_bytes >> 20
            )));
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// The wasmtime store's data for one VM.
pub(crate) struct HostState {
    pub world: World,
    pub limiter: Limiter,
    pub memory: Option<Memory>,
    pub alloc: Option<TypedFunc<i32, i32>>,
    pub contexts: BTreeMap<u32, Context>,
    /// The context of the callback that is running.
    pub current: u32,
    /// Set by `proxy_set_effective_context`, reset before each callback.
    pub effective: Option<u32>,
    pub pending_calls: VecDeque<PendingCall>,
    pub queue_ready: VecDeque<(u32, u32)>,
    pub call_response: Option<CallResponse>,
    pub fault: Option<HostFault>,
    pub root_done: bool,
}

pub(crate) const ROOT_CONTEXT: u32 = 1;

impl HostState {
    pub(crate) fn new(world: World, memory_bytes: usize) -> HostState {
        HostState {
            world,
            limiter: Limiter { memory_bytes, refused: None, used: 0 },
            memory: None,
            alloc: None,
            contexts: BTreeMap::from([(ROOT_CONTEXT, Context::root())]),
            current: ROOT_CONTEXT,
            effective: None,
            pending_calls: VecDeque::new(),
            queue_ready: VecDeque::new(),
            call_response: None,
            fault: None,
            root_done: false,
        }
    }

    /// The context host calls act on: the effective one if the filter set it, else the
    /// callback's, as in proxy-wasm-cpp-host.
    pub(crate) fn active_id(&self) -> u32 {
        match self.effective {
            Some(id) if self.contexts.contains_key(&id) => id,
            _ => self.current,
        }
    }

    pub(crate) fn active(&self) -> Option<&Context> {
        self.contexts.get(&self.active_id())
    }

    pub(crate) fn active_mut(&mut self) -> Option<&mut Context> {
        let id = self.active_id();
        self.contexts.get_mut(&id)
    }

    /// The root context of the active context.
    pub(crate) fn active_root(&self) -> u32 {
        match self.active() {
            Some(c) if c.root_id != 0 => c.root_id,
            _ => ROOT_CONTEXT,
        }
    }

    /// Whether a log line of `len` bytes would still be kept.
    pub(crate) fn log_has_room(&self, len: usize) -> bool {
        self.world.log_bytes.saturating_add(len) <= crate::limits::CASE_LOG
    }

    pub(crate) fn log(&mut self, level: LogLevel, message: String) {
        if level < self.world.plugin.log_level.unwrap_or(LogLevel::Trace) {
            return;
        }
        if !self.log_has_room(message.len()) {
            return self.drop_log(level);
        }
        let context = self.active_id();
        self.world.log_bytes += message.len();
        self.world.logs.push(LogLine { level, message, context });
    }

    /// A line over the case's log budget: dropped, and the first drop said so in the log.
    pub(crate) fn drop_log(&mut self, level: LogLevel) {
        if level < self.world.plugin.log_level.unwrap_or(LogLevel::Trace) || self.world.logs_dropped {
            return;
        }
        self.world.logs_dropped = true;
        let message = format!(
            "gw kept the first {} of this case's log lines and dropped the rest",
            crate::limits::bytes(crate::limits::CASE_LOG as u64)
        );
        let context = self.active_id();
        self.world.logs.push(LogLine { level: LogLevel::Warn, message, context });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_maps_use_proxy_wasms_encoding() {
        let map = HeaderMap::from_pairs(&[("a".into(), "1".into()), ("B".into(), "22".into())]);
        let bytes = map.serialize();
        // The spec's own example: {a: 1, b: 22}.
        assert_eq!(bytes, b"\x02\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\0\0\x02\0\0\0a\x001\x00b\x0022\x00");
        assert_eq!(HeaderMap::deserialize(&bytes), Some(map));
        assert_eq!(HeaderMap::default().serialize(), b"");
        assert_eq!(HeaderMap::deserialize(b""), Some(HeaderMap::default()));
        assert_eq!(HeaderMap::deserialize(b"\x05\0\0\0"), None);
        assert_eq!(HeaderMap::deserialize(b"\x01\0\0\0\xff\0\0\0\x01\0\0\0a\0b\0"), None);
    }

    #[test]
    fn header_maps_edit_like_envoy() {
        let mut map = HeaderMap::from_pairs(&[("cookie".into(), "a".into()), ("x".into(), "1".into())]);
        map.add("Cookie", b"b");
        assert_eq!(map.get("COOKIE"), Some(&b"a"[..]));
        map.replace("cookie", b"c");
        assert_eq!(map.to_strings(), vec![("cookie".into(), "c".into()), ("x".into(), "1".into())]);
        map.remove("x");
        map.replace("new", b"v");
        assert_eq!(map.to_strings(), vec![("cookie".into(), "c".into()), ("new".into(), "v".into())]);
    }

    #[test]
    fn shared_data_compare_and_swap() {
        let mut data = SharedData::default();
        assert_eq!(data.set("k", b"1".to_vec(), 0), Status::Ok);
        let cas = data.entries["k"].1;
        assert_eq!(data.set("k", b"2".to_vec(), cas + 1), Status::CasMismatch);
        assert_eq!(data.set("k", b"2".to_vec(), cas), Status::Ok);
        assert_ne!(data.entries["k"].1, cas);
        assert_eq!(data.set("k", b"3".to_vec(), cas), Status::CasMismatch);
        assert_eq!(data.entries["k"].0, b"2");
        // A missing key has nothing to compare with, and is written.
        assert_eq!(data.set("new", b"x".to_vec(), 42), Status::Ok);
    }

    #[test]
    fn metrics_keep_one_id_per_name_and_kind() {
        let mut metrics = Metrics::default();
        let a = metrics.define(MetricKind::Counter, "hits");
        assert_eq!(metrics.define(MetricKind::Counter, "hits"), a);
        let h = metrics.define(MetricKind::Histogram, "latency");
        assert_ne!(a, h);
        metrics.get_mut(h).unwrap().samples = 3;
        metrics.get_mut(a).unwrap().value = 7;
        assert_eq!(metrics.snapshot(), BTreeMap::from([("hits".into(), 7), ("latency".into(), 3)]));
        assert!(metrics.get_mut(0).is_none());
    }
}
