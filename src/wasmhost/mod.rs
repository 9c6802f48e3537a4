//! gw's embedded proxy-wasm host: runs a filter's `.wasm` against scenario files, the way Envoy
//! would run it, and reports per case what passed and what differed.
//!
//! The host implements proxy-wasm ABI 0.2.1 (and 0.2.0, which differs only in missing
//! `proxy_get_log_level`) on wasmtime. Its behaviour follows Envoy's and the reference C++ host
//! (proxy-wasm-cpp-host): the same context lifecycle, the same serialization of header maps and
//! properties, the same status codes.
//!
//! ```text
//! let host = Host::new(gw_home.join("cache/wasm"))?;    // one engine, one epoch ticker
//! let module = host.load(Path::new("filter.wasm"))?;     // compiled, or read from the cache
//! let report = host.run_scenario_file(&module, Path::new("scenarios/auth.yaml"))?;
//! let xml = junit(&[report]);
//! ```
//!
//! # Scenario files
//!
//! YAML, read by [`Scenario`]. The cases of one file run in order in one VM, so metrics, shared
//! data, queues and the virtual clock carry over from case to case. Unknown keys are errors.
//!
//! Top level:
//!
//! | key | meaning |
//! |---|---|
//! | `plugin_config` | bytes for `proxy_on_configure`: a string as is, a mapping or sequence as JSON |
//! | `vm_config` | bytes for `proxy_on_vm_start`, the same way |
//! | `plugin_name`, `root_id`, `vm_id` | the plugin's names (properties `plugin_name`, `plugin_root_id`, `plugin_vm_id`); defaults: the module's file stem, `""`, `""` |
//! | `log_level` | the host's level (`trace` … `critical`), returned by `proxy_get_log_level`; lower lines are dropped. Default `trace` |
//! | `time` | start of the virtual clock: RFC 3339 (`2024-05-01T12:00:00Z`) or unix seconds. Default: the real time when the file starts. The clock stands still except for `tick` |
//! | `properties` | property overrides for every case: `{source.address: "203.0.113.9:4000"}`; `null` hides one |
//! | `http_calls` | answers to `proxy_http_call`, for every case (see below) |
//! | `shared_data` | initial shared data, `{key: value}` |
//! | `expect_start_failure` | `true`: the plugin must refuse to start (`proxy_on_vm_start` or `proxy_on_configure` returns false); reported as a case named `plugin start` |
//! | `cases` | the cases, in order |
//!
//! A case:
//!
//! | key | meaning |
//! |---|---|
//! | `name` | the case's name in reports |
//! | `repeat` | run the case N times in a row (default 1), each run checked against `expect`; a failure names the run. For limits that trip after N requests, and for benchmarks |
//! | `tick` | first advance the virtual clock by N ms, calling `proxy_on_tick` as often as it falls due |
//! | `enqueue` | then enqueue items: `[{queue: name, value: "..."}]` (optional `vm_id`), which calls `proxy_on_queue_ready` |
//! | `request` | an HTTP request: `headers` (mapping, or a list of `[name, value]` for repeats), `body` (a string, or a list of chunks), `trailers` |
//! | `response` | the upstream's response, the same keys; default `{headers: {":status": "200"}}` |
//! | `connection` | instead of a request, a TCP connection: `downstream: [chunks]`, `upstream: [chunks]`, or an ordered `events: [{downstream: "..."}, {upstream: "..."}]` |
//! | `properties` | property overrides for this case |
//! | `http_calls` | answers for this case, tried before the file's |
//! | `expect` | what must hold afterwards (below) |
//!
//! A case with neither `request`, `response`, `connection`, `tick` nor `enqueue` sends a default
//! request. Missing request headers are filled in as Envoy's connection manager would:
//! `:authority: example.com`, `:path: /`, `:method: GET`, `:scheme: http`,
//! `x-forwarded-proto: http` and an `x-request-id`.
//!
//! An HTTP call answer: `{cluster: auth, path: /verify, method: POST, response: {headers: …, body: …}}`;
//! `path` and `method` are optional filters, `fail: true` answers with a failure (no headers,
//! as Envoy does on a timeout or reset). A call that no answer matches is answered with a failure
//! and fails the case, naming the call.
//!
//! Expectations (`expect`), each optional:
//!
//! | key | checks |
//! |---|---|
//! | `action` | what `proxy_on_request_headers` returned (`continue` or `pause`); for a connection, `proxy_on_new_connection` |
//! | `actions` | per callback: `{request_headers: continue, request_body: pause, response_headers: …, downstream_data: …}` (the last call of each) |
//! | `local_response` | `{status, body, headers, details}` as the filter sent them; `false`: none was sent, `true`: one was |
//! | `request_headers`, `request_headers_absent` | the request headers as they went upstream |
//! | `response_headers`, `response_headers_absent` | the response headers as they went downstream |
//! | `request_trailers`, `response_trailers` | likewise |
//! | `request_body`, `response_body` | the bodies as they went upstream and downstream |
//! | `forwarded` | whether the request reached the upstream |
//! | `closed` | whether the filter closed the stream or connection (`proxy_close_stream`) |
//! | `upstream_data`, `downstream_data` | what a connection's upstream and client received |
//! | `metrics` | `{name: value}`; a histogram's value is its number of samples |
//! | `logs_contain`, `logs_absent` | substrings of log lines of this case, or `{level: warn, message: "..."}` |
//! | `http_calls_made` | calls the filter made, in order: `{cluster, path, method, headers, body}` |
//! | `properties` | properties the filter set (`proxy_set_property`), as strings |
//! | `shared_data` | shared data after the case |
//!
//! The flow follows Envoy's. A callback that pauses holds its stream until the filter calls
//! `proxy_continue_stream` (typically from `proxy_on_http_call_response`); HTTP call answers and
//! queue notifications are delivered as soon as the callback that caused them returns. A stream
//! never resumed ends there. Body chunks a filter pauses on are buffered, and the next chunk's
//! callback sees them all. A local response ends the request: it never reaches the upstream, and
//! the reply goes back through the filter's `proxy_on_response_headers` and
//! `proxy_on_response_body`, as Envoy sends local replies through its encoder filters. Each stream
//! ends with `proxy_on_log`, `proxy_on_done`, `proxy_on_delete`; a connection first gets
//! `proxy_on_downstream_connection_close` (peer remote, or local when the filter closed it) and
//! `proxy_on_upstream_connection_close`. Log lines of the VM start belong to the first case.
//!
//! # Properties
//!
//! `proxy_get_property` serves Envoy's attributes, serialized as Envoy does: strings as their
//! bytes, integers as 8-byte little-endian, booleans as one byte, timestamps as 8-byte
//! little-endian nanoseconds since the epoch, header maps in the header-map encoding; a path
//! is its segments joined by `\0` (`request\0path`). See [`attributes`] for the list.
//!
//! # Limits
//!
//! Each call into the filter may run [`Limits::call_timeout`] (2 s) and the filter's memory may
//! grow to [`Limits::memory_bytes`] (256 MiB). A trap, a call that runs too long, memory over the
//! limit, or a call to a host function gw does not implement fails the case with a message (and
//! the wasm backtrace); the VM is then started afresh for the next case, keeping metrics and
//! shared data, as Envoy restarts a crashed VM.

mod abi;
pub mod attributes;
mod clock;
mod engine;
mod error;
mod expect;
pub mod junit;
mod report;
mod runner;
pub mod scenario;
mod state;
mod vm;

pub use engine::{AbiVersion, Host, Limits, LoadedModule};
pub use error::Error;
pub use junit::junit;
pub use report::{CallbackRecord, CaseReport, FileReport, HttpCallRecord, LocalResponse, LogLine, Observed, Outcome};
pub use scenario::Scenario;
pub use state::LogLevel;
