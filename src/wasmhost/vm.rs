//! One instance of the filter: calls into it under the time limit, and turns whatever stops a
//! call (trap, timeout, memory limit, unimplemented import, proc_exit) into a readable fault.

use std::collections::HashMap;
use std::time::Duration;

use wasmtime::{Func, InstancePre, Store, Trap, Val, ValType, WasmBacktrace};

use super::engine::{Host, LoadedModule};
use super::state::{HostFault, HostState, World};

/// Why the filter stopped: a message for the report, with the wasm backtrace when there is one.
#[derive(Debug, Clone)]
pub(crate) struct Fault(pub String);

/// The callbacks gw calls: (export, number of i32 parameters, returns an i32).
const CALLBACKS: &[(&str, usize, bool)] = &[
    ("_initialize", 0, false),
    ("_start", 0, false),
    ("main", 2, true),
    ("proxy_on_context_create", 2, false),
    ("proxy_on_vm_start", 2, true),
    ("proxy_on_configure", 2, true),
    ("proxy_on_tick", 1, false),
    ("proxy_on_queue_ready", 2, false),
    ("proxy_on_new_connection", 1, true),
    ("proxy_on_downstream_data", 3, true),
    ("proxy_on_upstream_data", 3, true),
    ("proxy_on_downstream_connection_close", 2, false),
    ("proxy_on_upstream_connection_close", 2, false),
    ("proxy_on_request_headers", 3, true),
    ("proxy_on_request_body", 3, true),
    ("proxy_on_request_trailers", 2, true),
    ("proxy_on_response_headers", 3, true),
    ("proxy_on_response_body", 3, true),
    ("proxy_on_response_trailers", 2, true),
    ("proxy_on_http_call_response", 5, false),
    ("proxy_on_done", 1, true),
    ("proxy_on_log", 1, false),
    ("proxy_on_delete", 1, false),
];

pub(crate) struct Vm {
    store: Store<HostState>,
    callbacks: HashMap<&'static str, (Func, bool)>,
    deadline_ticks: u64,
    timeout: Duration,
}

impl Vm {
    /// Instantiates the module: links, checks its ABI and exports. Does not call into it yet,
    /// except for a wasm `start` function. On failure the world comes back with the message.
    pub(crate) fn instantiate(
        host: &Host,
        module: &LoadedModule,
        pre: &InstancePre<HostState>,
        world: World,
    ) -> Result<Vm, (Box<World>, Fault)> {
        let mut store = Store::new(&host.engine, HostState::new(world, host.limits.memory_bytes));
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(host.deadline_ticks());
        let mut vm = Vm {
            store,
            callbacks: HashMap::new(),
            deadline_ticks: host.deadline_ticks(),
            timeout: host.limits.call_timeout,
        };

        if module.abi.is_none() {
            let message = if module.module.exports().any(|e| e.name() == "proxy_abi_version_0_1_0") {
                "the module speaks proxy-wasm ABI 0.1.0, which gw does not support (use an SDK for ABI 0.2.x)"
            } else {
                "the module is not a proxy-wasm filter: it exports neither proxy_abi_version_0_2_1 nor proxy_abi_version_0_2_0"
            };
            return Err(vm.fail(message.to_string()));
        }
        let instance = match pre.instantiate(&mut vm.store) {
            Ok(instance) => instance,
            Err(e) => {
                let fault = vm.describe(e, "instantiation");
                return Err(vm.fail(fault.0));
            }
        };
        let Some(memory) = instance.get_memory(&mut vm.store, "memory") else {
            return Err(vm.fail("the module does not export its memory as \"memory\"".into()));
        };
        // proxy-wasm-cpp-host prefers malloc, and the Rust SDK exports only malloc on
        // wasm32-unknown-unknown.
        let alloc = ["malloc", "proxy_on_memory_allocate"]
            .iter()
            .find_map(|name| instance.get_typed_func::<i32, i32>(&mut vm.store, name).ok());
        let Some(alloc) = alloc else {
            return Err(vm.fail(
                "the module exports no allocator: neither malloc nor proxy_on_memory_allocate (i32) -> i32".into(),
            ));
        };
        let mut wrong = Vec::new();
        for (name, params, returns) in CALLBACKS {
            let Some(func) = instance.get_func(&mut vm.store, name) else { continue };
            let ty = func.ty(&vm.store);
            let ok = ty.params().len() == *params
                && ty.params().all(|p| matches!(p, ValType::I32))
                && ty.results().len() == usize::from(*returns)
                && ty.results().all(|r| matches!(r, ValType::I32));
            if ok {
                vm.callbacks.insert(name, (func, *returns));
            } else {
                wrong.push(format!("{name} has the signature {ty}"));
            }
        }
        if !wrong.is_empty() {
            return Err(vm.fail(format!("the module's exports do not match proxy-wasm ABI 0.2: {}", wrong.join("; "))));
        }
        let state = vm.store.data_mut();
        state.memory = Some(memory);
        state.alloc = Some(alloc);
        Ok(vm)
    }

    fn fail(self, message: String) -> (Box<World>, Fault) {
        (Box::new(self.store.into_data().world), Fault(message))
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.callbacks.contains_key(name)
    }

    pub(crate) fn state(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    pub(crate) fn into_world(self) -> World {
        self.store.into_data().world
    }

    /// Calls a callback as `context`. `Ok(None)` when the module does not export it (the
    /// host then carries on as if it had said "continue", as Envoy does); `Ok(Some(0))` for
    /// one that returns nothing.
    pub(crate) fn call(&mut self, name: &'static str, context: u32, args: &[u32]) -> Result<Option<u32>, Fault> {
        let Some((func, returns)) = self.callbacks.get(name).cloned() else { return Ok(None) };
        let state = self.store.data_mut();
        state.current = context;
        state.effective = None;
        state.fault = None;
        state.limiter.refused = None;
        self.store.set_epoch_deadline(self.deadline_ticks);
        let params: Vec<Val> = args.iter().map(|a| Val::I32(*a as i32)).collect();
        let mut results = vec![Val::I32(0); usize::from(returns)];
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Ok(Some(results.first().and_then(Val::i32).unwrap_or(0) as u32)),
            Err(e) => Err(self.describe(e, name)),
        }
    }

    fn describe(&mut self, error: wasmtime::Error, callback: &str) -> Fault {
        let state = self.store.data_mut();
        let mut message = if let Some(fault) = state.fault.take() {
            match fault {
                HostFault::Unimplemented(name) => {
                    format!("the filter called {name}, which gw's host does not implement (in {callback})")
                }
                HostFault::Exit(code) => format!("the filter called proc_exit({code}) in {callback}"),
            }
        } else if let Some(bytes) = state.limiter.refused.take() {
            format!(
                "the filter ran out of memory in {callback}: it asked for {} MiB, over gw's limit of {} MiB",
                bytes.div_ceil(1 << 20),
                state.limiter.memory_bytes >> 20
            )
        } else if let Some(trap) = error.downcast_ref::<Trap>() {
            match trap {
                Trap::Interrupt => format!(
                    "the filter ran for more than {} in {callback} and was stopped (an endless loop?)",
                    seconds(self.timeout)
                ),
                Trap::UnreachableCodeReached => format!(
                    "the filter trapped in {callback}: {} (a Rust filter's panic ends this way; its message is in the logs)",
                    trap_text(trap)
                ),
                other => format!("the filter trapped in {callback}: {}", trap_text(other)),
            }
        } else {
            format!("{callback} failed: {error:#}")
        };
        if let Some(backtrace) = error.downcast_ref::<WasmBacktrace>()
            && !backtrace.frames().is_empty()
        {
            message.push('\n');
            message.push_str(&render_backtrace(backtrace));
        }
        Fault(message)
    }
}

fn trap_text(trap: &Trap) -> String {
    let text = trap.to_string();
    text.strip_prefix("wasm trap: ").map(str::to_string).unwrap_or(text)
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{} s", d.as_secs()) } else { format!("{:.1} s", d.as_secs_f64()) }
}

/// wasmtime's rendering (with demangled Rust names), with a shorter header and without the
/// `<unknown>!` that unnamed modules get.
fn render_backtrace(backtrace: &WasmBacktrace) -> String {
    let text = backtrace.to_string();
    let mut lines = text.lines();
    lines.next();
    let mut out = String::from("wasm backtrace:");
    for line in lines {
        out.push('\n');
        out.push_str(&line.replace("<unknown>!", ""));
    }
    out
}
