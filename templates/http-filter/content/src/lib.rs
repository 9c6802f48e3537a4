//! {{ project_name }}: a proxy-wasm HTTP filter that edits request and
//! response headers as its plugin configuration says (see `config`).

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

pub mod config;

use config::{Config, Edits};

proxy_wasm::main! { {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { config: Rc::new(Config::default()) }) });
} }

struct Root {
    config: Rc<Config>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&bytes) {
            Ok(config) => {
                self.config = Rc::new(config);
                true
            }
            Err(error) => {
                log::error!("{{ project_name }}: bad plugin configuration: {error}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter { config: Rc::clone(&self.config) }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    config: Rc<Config>,
}

impl Context for Filter {}

impl Filter {
    fn apply(&self, edits: &Edits, set: impl Fn(&str, Option<&str>), add: impl Fn(&str, &str)) {
        for name in &edits.remove {
            set(name, None);
        }
        for (name, value) in &edits.set {
            set(name, Some(value));
        }
        for (name, value) in &edits.add {
            add(name, value);
        }
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.apply(
            &self.config.request,
            |name, value| self.set_http_request_header(name, value),
            |name, value| self.add_http_request_header(name, value),
        );
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.apply(
            &self.config.response,
            |name, value| self.set_http_response_header(name, value),
            |name, value| self.add_http_response_header(name, value),
        );
        Action::Continue
    }
}
