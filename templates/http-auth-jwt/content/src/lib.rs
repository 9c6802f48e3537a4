//! {{ project_name }}: a proxy-wasm HTTP filter that requires a valid
//! {{ algorithm | upper }} JWT (`Authorization: Bearer <jwt>`) on the paths its
//! configuration names, and forwards chosen claims upstream as headers.
//!
//! The decisions live in plain modules (`auth`, `jwt`, `path`, `config`,
//! `{{ algorithm }}`) that `cargo test` runs natively; this file only
//! connects them to the host.

use std::rc::Rc;
use std::time::UNIX_EPOCH;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

pub mod auth;
pub mod config;
pub mod jwt;
pub mod path;
pub mod {{ algorithm }};

/// The key type of the chosen algorithm, under one name for the other modules.
pub use {{ algorithm }} as key;

use auth::{Outcome, Policy};

proxy_wasm::main! { {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { policy: None }) });
} }

struct Root {
    /// None until a valid configuration arrives; Envoy does not start the
    /// filter when `on_configure` fails, so requests never see None.
    policy: Option<Rc<Policy>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Policy::from_json(&bytes) {
            Ok(policy) => {
                self.policy = Some(Rc::new(policy));
                true
            }
            Err(error) => {
                log::error!("{{ project_name }}: bad plugin configuration: {error}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter { policy: self.policy.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    policy: Option<Rc<Policy>>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(policy) = self.policy.clone() else {
            // Fail closed: no configuration, no access.
            self.send_http_response(500, vec![], Some(b"authentication is not configured\n"));
            return Action::Pause;
        };
        for header in policy.owned_headers() {
            self.set_http_request_header(header, None);
        }
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let authorization = self.get_http_request_header("authorization");
        let now = self.get_current_time().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);

        let outcome = policy.check(&path, authorization.as_deref(), now);
        match &outcome {
            Outcome::Unprotected => Action::Continue,
            Outcome::Allowed { headers } => {
                self.set_http_request_header("authorization", None);
                for (name, value) in headers {
                    self.set_http_request_header(name, Some(value));
                }
                Action::Continue
            }
            Outcome::Missing | Outcome::Invalid(_) => {
                if let Outcome::Invalid(why) = &outcome {
                    log::info!("{{ project_name }}: refused {}: {}", path::strip_query(&path), why.description());
                }
                let challenge = policy.challenge(&outcome);
                self.send_http_response(
                    401,
                    vec![("www-authenticate", &challenge), ("content-type", "text/plain")],
                    Some(auth::body(&outcome).as_bytes()),
                );
                Action::Pause
            }
        }
    }
}
