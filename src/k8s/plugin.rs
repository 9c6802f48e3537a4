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
    /// The built module's sha256 (hex).
    pub module_sha256: String,
    /// What `gw push` last published from the project, if anything.
    pushed: Option<PushRecord>,
}

impl Plugin {
    /// The push of this very module, for an engine that pulls it from the registry.
    pub fn pushed(&self, engine: &'static str) -> Result<&PushRecord, Error> {
        let pushed = self.pushed.as_ref().ok_or(Error::NotPushed { engine })?;
        if pushed.module_sha256 != self.module_sha256 {
            return Err(Error::PushedStale { image: pushed.image.clone(), engine });
        }
        Ok(pushed)
    }
}

/// The filter on the front that runs the project's module, and what `gw push` last published.
pub fn plugin(project: &Project, engine: &'static str) -> Result<Plugin, Error> {
    if project.kind()? == Kind::Ebpf {
        return Err(Error::NotProxyWasm { root: project.root.clone(), command: engine });
    }
    let module = topology::built_module(project)?;
    let spec = topology::load_spec(project)?;
    let filters = plan::filters(&spec.front.filters, &module, "front")?;
    let filter = filters.into_iter().find(|f| f.wasm == module.wasm).ok_or(Error::NoProjectFilter)?;
    let output = project.root.join(crate::toolchain::OUTPUT_DIR);
    let pushed = PushRecord::read(&output)?;
    let module_sha256 = Sha256::of_bytes(&fs_err::read(&module.wasm)?).as_str().to_string();
    let config = match filter.config.trim() {
        "" => None,
        text => Some(serde_json::from_str(text).map_err(|e| Error::Config {
            origin: filter.config_origin.clone(),
            reason: format!("is not JSON ({e}), and {engine} passes the configuration as JSON"),
        })?),
    };
    let (name, kind, config_origin) = (project.name()?, filter.kind, filter.config_origin);
    Ok(Plugin { name, kind, config, config_origin, module_sha256, pushed })
}
