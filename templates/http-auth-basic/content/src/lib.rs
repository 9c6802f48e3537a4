//! {{ project_name }}: a proxy-wasm HTTP filter for Basic authentication
//! (RFC 7617). Users and SHA-256 password hashes come from the plugin
//! configuration (see `config`); the check itself is in `basic`.
//!
//! Refusals are counted in the counter `auth_denied_total`.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

pub mod basic;
pub mod config;

use basic::Outcome;
use config::Config;

/// The request header that tells the upstream who logged in.
const USER_HEADER: &str = "x-auth-user";

proxy_wasm::main! { {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { shared: None }) });
} }

/// What every request of this plugin shares.
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
        // Defining a metric twice returns the same id, so reconfiguring is safe.
        let denied = match hostcalls::define_metric(MetricType::Counter, "auth_denied_total") {
            Ok(id) => id,
            Err(status) => {
                log::error!("{{ project_name }}: cannot define auth_denied_total: {status:?}");
                return false;
            }
        };
        self.shared = Some(Rc::new(Shared { config, denied }));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter { shared: self.shared.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    shared: Option<Rc<Shared>>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Fail closed: no configuration, no access.
            self.send_http_response(500, vec![], Some(b"authentication is not configured\n"));
            return Action::Pause;
        };
        // Only this filter says who the user is.
        self.set_http_request_header(USER_HEADER, None);
        let authorization = self.get_http_request_header("authorization");
        match basic::check(&shared.config, authorization.as_deref()) {
            Outcome::Allowed(user) => {
                self.set_http_request_header("authorization", None);
                self.set_http_request_header(USER_HEADER, Some(&user));
                Action::Continue
            }
            refusal => {
                // The user name is not logged: people type passwords into it.
                let why = if refusal == Outcome::NoCredentials { "no credentials" } else { "wrong user or password" };
                log::info!("{{ project_name }}: denied: {why}");
                if let Err(status) = hostcalls::increment_metric(shared.denied, 1) {
                    log::warn!("{{ project_name }}: auth_denied_total: {status:?}");
                }
                let challenge = basic::challenge(&shared.config);
                self.send_http_response(
                    401,
                    vec![("www-authenticate", &challenge), ("content-type", "text/plain")],
                    Some(basic::BODY.as_bytes()),
                );
                Action::Pause
            }
        }
    }
}
