//! {{ project_name }}: a proxy-wasm HTTP filter that rate-limits requests
//! with a token bucket per {% if key == "header" %}value of the `{{ header_name }}` header{% else %}client address{% endif %}.
//! The buckets live in Envoy's shared data, so all worker threads of one
//! Envoy count together; the arithmetic is in `bucket`, plain and tested.

use std::rc::Rc;
use std::time::UNIX_EPOCH;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};

pub mod bucket;
pub mod config;
pub mod key;

use bucket::{Decision, SetError, Store};
use config::Config;

proxy_wasm::main! { {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { shared: None }) });
} }

struct Shared {
    config: Config,
    denied: u32,
}

struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let config = match Config::parse(&bytes) {
            Ok(config) => config,
            Err(error) => {
                log::error!("{{ project_name }}: bad plugin configuration: {error}");
                return false;
            }
        };
        let denied = match hostcalls::define_metric(MetricType::Counter, "ratelimit_denied_total") {
            Ok(id) => id,
            Err(status) => {
                log::error!("{{ project_name }}: cannot define ratelimit_denied_total: {status:?}");
                return false;
            }
        };
        self.shared = Some(Rc::new(Shared { config, denied }));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter { shared: self.shared.clone(), decision: None }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Envoy's shared data (one store per Envoy, seen by every worker).
struct SharedData;

impl Store for SharedData {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), SetError> {
        match hostcalls::set_shared_data(key, Some(value), version) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(SetError::Conflict),
            Err(status) => Err(SetError::Other(format!("{status:?}"))),
        }
    }
}

struct Filter {
    shared: Option<Rc<Shared>>,
    /// This request's decision, for the response headers.
    decision: Option<Decision>,
}

impl Context for Filter {}

impl Filter {
    /// The client's key: {% if key == "header" %}the `{{ header_name }}` header{% else %}the IP of `source.address`{% endif %}.
    fn client_key(&self) -> Option<String> {
{%- if key == "header" %}
        self.get_http_request_header("{{ header_name }}")
{%- else %}
        let source = self.get_property(vec!["source", "address"])?;
        let source = String::from_utf8(source).ok()?;
        Some(key::client_address(&source).to_string())
{%- endif %}
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else { return Action::Continue };
        let now_ms = self.get_current_time().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let storage_key = key::storage_key(&shared.config.domain, self.client_key().as_deref());
        let limit = &shared.config.limit;
        let decision = match bucket::take_shared(&SharedData, &storage_key, limit, now_ms) {
            Ok(decision) => decision,
            Err(error) => {
                // Fail open: a broken or overloaded store must not stop all traffic.
                log::warn!("{{ project_name }}: letting a request through unlimited: {error}");
                return Action::Continue;
            }
        };
        if decision.allowed {
            self.decision = Some(decision);
            return Action::Continue;
        }
        log::info!("{{ project_name }}: rate limited {storage_key}");
        if let Err(status) = hostcalls::increment_metric(shared.denied, 1) {
            log::warn!("{{ project_name }}: ratelimit_denied_total: {status:?}");
        }
        let headers = limit.headers(&decision);
        let mut headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        headers.push(("content-type", "text/plain"));
        self.send_http_response(429, headers, Some(b"too many requests\n"));
        Action::Pause
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if let (Some(shared), Some(decision)) = (&self.shared, &self.decision) {
            for (name, value) in shared.config.limit.headers(decision) {
                self.set_http_response_header(name, Some(&value));
            }
        }
        Action::Continue
    }
}
