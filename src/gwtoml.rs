//! gw.toml, typed: every section a project's gw.toml may hold, in one struct,
//! parsed once. Unknown keys are refused wherever they are (`[topolgy]`, a
//! `kind` gw does not know), and every error names the key, the line and the
//! column, as the TOML parser reports them.

use serde::Deserialize;

use crate::builds::Reference;
use crate::k8s::spec::CiliumSpec;
use crate::topology::spec::Spec;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GwToml {
    pub project: ProjectSection,
    #[serde(default)]
    pub build: BuildSection,
    #[serde(default)]
    pub envoy: EnvoySection,
    /// The local topology `gw run` starts; absent parts take the default.
    #[serde(default)]
    pub topology: Spec,
    #[serde(default)]
    pub deploy: DeploySection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// Default: the project directory's name.
    pub name: Option<String>,
    pub kind: Kind,
    /// The template `gw init` made it from.
    pub template: Option<String>,
}

/// What a project builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A Rust proxy-wasm filter, built to a .wasm module.
    ProxyWasm,
    /// An aya workspace: a BPF object and the user-space program that loads it.
    Ebpf,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ProxyWasm => "proxy-wasm",
            Kind::Ebpf => "ebpf",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSection {
    pub toolchain: Option<BuildToolchain>,
}

/// Where cargo runs for `gw build` and `gw test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildToolchain {
    Docker,
    Local,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvoySection {
    /// The Envoy build `gw run` uses in the project.
    pub build: Option<Reference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySection {
    #[serde(default)]
    pub cilium: CiliumSpec,
    #[serde(default)]
    pub istio: crate::k8s::spec::IstioSpec,
    #[serde(default, rename = "envoy-gateway")]
    pub envoy_gateway: crate::k8s::spec::EnvoyGatewaySpec,
}

impl GwToml {
    pub fn parse(text: &str) -> Result<GwToml, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        GwToml::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_section() {
        let toml = GwToml::parse(
            "[project]\nname = \"shop\"\nkind = \"proxy-wasm\"\n[build]\ntoolchain = \"local\"\n\
             [envoy]\nbuild = \"1.40\"\n[[topology.routes]]\nprefix = \"/a\"\nservice = \"a\"\n\
             [[topology.services]]\nname = \"a\"\n[deploy.cilium]\nservices = [\"checkout:8080\"]\n",
        )
        .unwrap();
        assert_eq!((toml.project.kind, toml.build.toolchain), (Kind::ProxyWasm, Some(BuildToolchain::Local)));
        assert_eq!(toml.envoy.build.unwrap().to_string(), "standard:1.40");
        assert_eq!(toml.topology.services[0].name, "a");
        assert_eq!(toml.deploy.cilium.services, ["checkout:8080"]);
    }

    #[test]
    fn refuses_what_it_does_not_know_naming_key_and_line() {
        let e = error("[project]\nkind = \"proxy-wasm\"\n\n[topolgy.front]\nport = 1\n");
        assert!(e.contains("line 4") && e.contains("unknown field `topolgy`"), "{e}");
        let e = error("[project]\nkind = \"weird\"\n");
        assert!(e.contains("line 2") && e.contains("unknown variant `weird`") && e.contains("proxy-wasm"), "{e}");
        let e = error("[project]\nkind = \"ebpf\"\n[envoy]\nbuild = \"1.x\"\n");
        assert!(e.contains("line 4") && e.contains("'1.x' is not a version"), "{e}");
        let e = error("[project]\nkind = \"ebpf\"\n[build]\ntoolchain = \"podman\"\n");
        assert!(e.contains("unknown variant `podman`"), "{e}");
        let e = error("[project]\nname = \"x\"\n");
        assert!(e.contains("missing field `kind`"), "{e}");
        let e = error("[project]\nkind = \"ebpf\"\n[[topology.routes]]\nprefix = \"/\"\nservce = \"a\"\n");
        assert!(e.contains("line 5") && e.contains("unknown field `servce`"), "{e}");
    }
}
