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
//! Every key, of the file, a case and its `expect`, is described once, in docs/testing.md.
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
mod results;
mod runner;
pub mod scenario;
mod state;
mod vm;

pub use engine::{AbiVersion, Host, Limits, LoadedModule};
pub use error::Error;
pub use expect::compare;
pub use junit::junit;
pub use results::{CallbackRecord, CaseReport, FileReport, HttpCallRecord, LocalResponse, LogLine, Observed, Verdict};
pub use scenario::Scenario;
pub use state::LogLevel;
