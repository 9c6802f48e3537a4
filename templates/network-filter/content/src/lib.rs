//! {{ project_name }}: a proxy-wasm network (TCP, L4) filter. It counts
//! connections and the bytes going each way, and closes connections whose
//! source address is in a denied CIDR block (see `config` and `cidr`).

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, RootContext, StreamContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, PeerType};

pub mod cidr;
pub mod config;

use config::{Config, Verdict};

proxy_wasm::main! { {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { shared: None }) });
} }

/// The counters, by their ids from `define_metric`.
struct Metrics {
    connections: u32,
    denied: u32,
    received: u32,
    sent: u32,
}

impl Metrics {
    fn define() -> Result<Metrics, String> {
        let counter = |name: &str| {
            hostcalls::define_metric(MetricType::Counter, name).map_err(|status| format!("cannot define {name}: {status:?}"))
        };
        Ok(Metrics {
            connections: counter("tcp_connections_total")?,
            denied: counter("tcp_connections_denied_total")?,
            received: counter("tcp_bytes_received_total")?,
            sent: counter("tcp_bytes_sent_total")?,
        })
    }

    fn add(id: u32, n: usize) {
        if let Err(status) = hostcalls::increment_metric(id, n as i64) {
            log::warn!("{{ project_name }}: metric {id}: {status:?}");
        }
    }
}

struct Shared {
    config: Config,
    metrics: Metrics,
}

struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let result = Config::parse(&bytes).and_then(|config| Ok(Shared { config, metrics: Metrics::define()? }));
        match result {
            Ok(shared) => {
                self.shared = Some(Rc::new(shared));
                true
            }
            Err(error) => {
                log::error!("{{ project_name }}: bad plugin configuration: {error}");
                false
            }
        }
    }

    fn create_stream_context(&self, _context_id: u32) -> Option<Box<dyn StreamContext>> {
        Some(Box::new(Connection { shared: self.shared.clone(), denied: false }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::StreamContext)
    }
}

struct Connection {
    shared: Option<Rc<Shared>>,
    /// Closed by this filter: no data goes through any more.
    denied: bool,
}

impl Context for Connection {}

impl StreamContext for Connection {
    fn on_new_connection(&mut self) -> Action {
        let Some(shared) = self.shared.clone() else { return Action::Continue };
        Metrics::add(shared.metrics.connections, 1);
        let source = self.get_property(vec!["source", "address"]).and_then(|b| String::from_utf8(b).ok());
        match shared.config.verdict(source.as_deref()) {
            Verdict::Allow => Action::Continue,
            Verdict::Deny(block) => {
                log::info!("{{ project_name }}: denied connection from {} (in {block})", source.unwrap_or_default());
                Metrics::add(shared.metrics.denied, 1);
                self.denied = true;
                self.close_downstream();
                Action::Pause
            }
        }
    }

    fn on_downstream_data(&mut self, data_size: usize, _end_of_stream: bool) -> Action {
        if self.denied {
            return Action::Pause;
        }
        if let Some(shared) = &self.shared {
            Metrics::add(shared.metrics.received, data_size);
        }
        Action::Continue
    }

    fn on_upstream_data(&mut self, data_size: usize, _end_of_stream: bool) -> Action {
        if self.denied {
            return Action::Pause;
        }
        if let Some(shared) = &self.shared {
            Metrics::add(shared.metrics.sent, data_size);
        }
        Action::Continue
    }

    fn on_downstream_close(&mut self, _peer_type: PeerType) {}
}
