//! The project's filter as the engines that pull modules from a registry take
//! it (Istio's WasmPlugin, Envoy Gateway's EnvoyExtensionPolicy): the image
//! `gw push` published, pinned by its digest, the filter's kind, and its
//! configuration as JSON.

use super::Error;
use crate::download::Sha256;
use crate::oci::PushRecord;
use crate::project::{Kind, Project};
use crate::topology::spec::FilterKind;
use crate::topology::{self, plan};

#[derive(Debug, Clone)]
pub struct Plugin {
    /// The project's name: the plugin's name in the engine's object.
    pub name: String,
    pub kind: FilterKind,
    /// The front filter's configuration, parsed; `None` when it has none.
    pub config: Option<serde_json::Value>,
    /// Where the configuration came from, for messages.
    pub config_origin: String,
    pub pushed: PushRecord,
}

/// The filter on the front that runs the project's module, and the push of that very module.
pub fn plugin(project: &Project, engine: &'static str) -> Result<Plugin, Error> {
    if project.kind()? == Kind::Ebpf {
        return Err(Error::NotProxyWasm { root: project.root.clone(), command: engine });
    }
    let module = topology::built_module(project)?;
    let spec = topology::load_spec(project)?;
    let filters = plan::filters(&spec.front.filters, &module, "front")?;
    let filter = filters.into_iter().find(|f| f.wasm == module.wasm).ok_or(Error::NoProjectFilter)?;
    let output = project.root.join(crate::toolchain::OUTPUT_DIR);
    let pushed = PushRecord::read(&output)?.ok_or(Error::NotPushed { engine })?;
    let built = Sha256::of_bytes(&fs_err::read(&module.wasm)?);
    if built.as_str() != pushed.module_sha256 {
        return Err(Error::PushedStale { image: pushed.image, engine });
    }
    let config = match filter.config.trim() {
        "" => None,
        text => Some(serde_json::from_str(text).map_err(|e| Error::Config {
            origin: filter.config_origin.clone(),
            reason: format!("is not JSON ({e}), and {engine} passes the configuration as JSON"),
        })?),
    };
    Ok(Plugin { name: project.name()?, kind: filter.kind, config, config_origin: filter.config_origin, pushed })
}
