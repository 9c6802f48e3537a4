//! The host functions the filter imports, one file per area. Every import of the module is
//! linked: the ones gw implements, and for any other a stub that fails the case naming it
//! (proxy-wasm SDKs import every host function even when the filter never calls it).

use std::collections::HashSet;

use wasmtime::{Engine, ExternType, IntoFunc, Linker, Module};

use super::state::{HostFault, HostState};

mod buffers;
mod headers;
mod http_calls;
mod logging;
pub(crate) mod memory;
mod metrics;
mod properties;
mod shared;
mod streams;
mod timers;
mod wasi;

/// Defines host functions and remembers which, so the rest can be stubbed.
pub(crate) struct Registry<'a> {
    linker: &'a mut Linker<HostState>,
    defined: HashSet<(String, String)>,
}

impl Registry<'_> {
    pub(crate) fn func<Params, Args>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<HostState, Params, Args>,
    ) -> wasmtime::Result<()> {
        self.linker.func_wrap(module, name, func)?;
        self.defined.insert((module.to_string(), name.to_string()));
        Ok(())
    }
}

/// A linker with every host function, plus a failing stub for each function import of
/// `module` that gw does not implement.
pub(crate) fn linker(engine: &Engine, module: &Module) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    let mut registry = Registry { linker: &mut linker, defined: HashSet::new() };
    logging::register(&mut registry)?;
    timers::register(&mut registry)?;
    buffers::register(&mut registry)?;
    headers::register(&mut registry)?;
    properties::register(&mut registry)?;
    metrics::register(&mut registry)?;
    shared::register(&mut registry)?;
    http_calls::register(&mut registry)?;
    streams::register(&mut registry)?;
    wasi::register(&mut registry)?;
    let defined = registry.defined;

    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else { continue };
        if defined.contains(&(import.module().to_string(), import.name().to_string())) {
            continue;
        }
        let name = match import.module() {
            "env" => import.name().to_string(),
            other => format!("{other}.{}", import.name()),
        };
        linker.func_new(import.module(), import.name(), ty, move |mut caller, _params, _results| {
            caller.data_mut().fault = Some(HostFault::Unimplemented(name.clone()));
            Err(wasmtime::Error::msg(format!("the filter called {name}, which gw's host does not implement")))
        })?;
    }
    Ok(linker)
}
