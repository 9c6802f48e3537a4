//! {{ project_name }}: a proxy-wasm access logger. For every finished request
//! it writes one JSON line (see `line`) with the fields its configuration
//! names (see `config` and `record`) to Envoy's log.
//!
//! It runs either as an access logger (`envoy.access_loggers.wasm`: Envoy
//! calls the root context's `on_log`) or as an HTTP filter
//! (`envoy.filters.http.wasm`: each request's context gets `on_log`).

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel, MapType};

pub mod config;
pub mod line;
pub mod record;

use config::Config;
use record::{Lookup, Value};

proxy_wasm::main! { {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { config: None }) });
} }

/// The request being logged, read through the host: during `on_log` the
/// host points these calls at the request that just finished.
struct Host;

impl Lookup for Host {
    fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        hostcalls::get_property(path.to_vec()).ok().flatten()
    }

    fn request_header(&self, name: &str) -> Option<String> {
        hostcalls::get_map_value(MapType::HttpRequestHeaders, name).ok().flatten()
    }

    fn response_header(&self, name: &str) -> Option<String> {
        hostcalls::get_map_value(MapType::HttpResponseHeaders, name).ok().flatten()
    }
}

/// Builds the line for the request behind `lookup`.
pub fn log_line(config: &Config, lookup: &dyn Lookup) -> String {
    let fields = config.fields.iter().map(|f| (f.name(), f.value(lookup)));
    let headers = config
        .request_headers
        .iter()
        .map(|h| (h.as_str(), lookup.request_header(h).map_or(Value::Null, Value::Text)));
    line::build(fields.chain(headers))
}

fn write(config: &Option<Rc<Config>>) {
    if let Some(config) = config {
        log::info!("{}", log_line(config, &Host));
    }
}

struct Root {
    config: Option<Rc<Config>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&bytes) {
            Ok(config) => {
                self.config = Some(Rc::new(config));
                true
            }
            Err(error) => {
                log::error!("{{ project_name }}: bad plugin configuration: {error}");
                false
            }
        }
    }

    /// As `envoy.access_loggers.wasm`.
    fn on_log(&mut self) {
        write(&self.config);
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Request { config: self.config.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Request {
    config: Option<Rc<Config>>,
}

impl Context for Request {}

impl HttpContext for Request {
    /// As `envoy.filters.http.wasm`: the request passes untouched and is logged at its end.
    fn on_log(&mut self) {
        write(&self.config);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::FakeRequest;

    #[test]
    fn a_whole_line() {
        let config = Config::parse(
            br#"{"fields": ["method", "path", "status", "duration_ms", "upstream_host", "user_agent"],
                 "request_headers": ["x-tenant"]}"#,
        )
        .unwrap();
        let mut request = FakeRequest::default()
            .with_header(":method", "GET")
            .with_header(":path", "/hello?name=\"x\"")
            .with_header("user-agent", "curl/8.5.0")
            .with_header("x-tenant", "acme")
            .with_int("request.duration", 2_500_000)
            .with_text("upstream.address", "10.0.0.7:8080");
        request.response_headers.insert(":status".into(), "200".into());
        assert_eq!(
            log_line(&config, &request),
            r#"{"method":"GET","path":"/hello?name=\"x\"","status":200,"duration_ms":2.500,"upstream_host":"10.0.0.7:8080","user_agent":"curl/8.5.0","x-tenant":"acme"}"#
        );
    }

    #[test]
    fn missing_values_are_null() {
        let config = Config::parse(br#"{"fields": ["status", "upstream_host"], "request_headers": ["x-tenant"]}"#).unwrap();
        assert_eq!(log_line(&config, &FakeRequest::default()), r#"{"status":null,"upstream_host":null,"x-tenant":null}"#);
    }
}
