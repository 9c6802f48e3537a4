//! `gw deploy istio` and `gw deploy envoy-gateway`: the project's filter for the
//! engines that fetch modules themselves (an Istio WasmPlugin, an Envoy Gateway
//! EnvoyExtensionPolicy).

use crate::Result;
use crate::cli::Terminal;
use crate::cli::deploy_output::{Output, apply, write};
use crate::k8s::envoy_gateway::{self, EnvoyGatewayOverrides};
use crate::k8s::istio::{self, IstioOverrides};
use crate::k8s::plugin;
use crate::project::Project;
use crate::settings::Settings;

/// Write an Istio WasmPlugin that runs the filter in the sidecars or gateways it selects.
///
/// The plugin pulls the module `gw push` last published from this project (oci://, checked
/// against the pushed manifest's digest); a module rebuilt since is refused until pushed again.
/// pluginConfig is the front filter's configuration from gw.toml, its type (HTTP or NETWORK) the
/// filter's kind. The object is checked against Istio's WasmPlugin CRD before anything is
/// written. Flags win over [deploy.istio] in gw.toml. Prints the written file.
#[derive(Debug, clap::Args)]
pub struct IstioArgs {
    #[command(flatten)]
    output: Output,
    /// The WasmPlugin's namespace (default: default); with no selector or targetRefs it applies
    /// to every workload there.
    #[arg(long, short, value_name = "NS")]
    namespace: Option<String>,
    /// The WasmPlugin's name (default: gw-<project name>).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Run in the workloads with this label; repeatable (all must match).
    #[arg(long, value_name = "KEY=VALUE")]
    selector: Vec<String>,
    /// Or attach to this Gateway, GatewayClass or Service: KIND/NAME; repeatable.
    #[arg(long = "target-ref", value_name = "KIND/NAME")]
    target_refs: Vec<String>,
    /// Where in the filter chain: AUTHN, AUTHZ, STATS or UNSPECIFIED_PHASE.
    #[arg(long, value_name = "PHASE")]
    phase: Option<String>,
    /// Order among plugins of the same phase (higher runs first).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    priority: Option<i32>,
    /// The traffic it applies to: CLIENT, SERVER or CLIENT_AND_SERVER.
    #[arg(long, value_name = "MODE")]
    mode: Option<String>,
    /// Only on this port; repeatable.
    #[arg(long = "port", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    ports: Vec<u16>,
    /// The docker-registry Secret the proxies pull the image with (required when gw push used
    /// credentials).
    #[arg(long, value_name = "NAME")]
    pull_secret: Option<String>,
    /// Let traffic through when the module cannot be fetched or fails (default: fail closed).
    #[arg(long)]
    fail_open: bool,
    /// The engine release the cluster runs (e.g. 1.30): refused unless gw carries its CRD.
    #[arg(long, value_name = "X.Y")]
    engine_version: Option<String>,
}

pub fn run_istio(args: IstioArgs, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let project = Project::require(&settings.cwd)?;
    let plugin = plugin::plugin(&project, istio::ENGINE)?;
    let spec = project.gw_toml()?.deploy.istio.clone();
    let flags = IstioOverrides {
        namespace: args.namespace,
        name: args.name,
        selector: args.selector,
        target_refs: args.target_refs,
        phase: args.phase,
        priority: args.priority,
        mode: args.mode,
        ports: args.ports,
        pull_secret: args.pull_secret,
        fail_open: args.fail_open,
        engine_version: args.engine_version,
    };
    let manifest = istio::manifest(spec, flags, &plugin)?;
    let path = write(&args.output, &project, "istio", (&manifest.file_name, &manifest.yaml), settings)?;
    let pushed = plugin.pushed(istio::ENGINE)?;
    terminal.status(format!(
        "WasmPlugin {} ({} bytes): oci://{} (sha256 {})",
        manifest.file_name.trim_end_matches(".yaml"),
        manifest.yaml.len(),
        pushed.image,
        &pushed.digest_hex()[..12]
    ));
    apply(&args.output, &path, settings, terminal)
}

/// Write an Envoy Gateway EnvoyExtensionPolicy that runs the filter on the Gateways or routes
/// named.
///
/// Envoy Gateway fetches the module `gw push` last published from this project (checked against
/// the pushed manifest's digest; a module rebuilt since is refused until pushed again), or, with
/// --module-url, over HTTP(S), checked against the build's sha256. The filter's configuration
/// from gw.toml goes along as JSON. The object is checked against Envoy Gateway's CRD before
/// anything is written. Flags win over [deploy.envoy-gateway] in gw.toml. Prints the written file.
#[derive(Debug, clap::Args)]
pub struct EnvoyGatewayArgs {
    #[command(flatten)]
    output: Output,
    /// The policy's namespace, that of the Gateways and routes it targets (default: default).
    #[arg(long, short, value_name = "NS")]
    namespace: Option<String>,
    /// The policy's name (default: gw-<project name>).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// What the filter runs on: Gateway/NAME, HTTPRoute/NAME, GRPCRoute/NAME, …; repeatable.
    #[arg(long = "target-ref", value_name = "KIND/NAME")]
    target_refs: Vec<String>,
    /// Have Envoy Gateway fetch the module from this http(s) URL instead of the pushed image.
    #[arg(long, value_name = "URL")]
    module_url: Option<String>,
    /// The Secret Envoy Gateway pulls the image with (required when gw push used credentials).
    #[arg(long, value_name = "NAME")]
    pull_secret: Option<String>,
    /// Let requests through when the module cannot be fetched or fails (default: fail closed).
    #[arg(long)]
    fail_open: bool,
    /// The engine release the cluster runs (e.g. 1.30): refused unless gw carries its CRD.
    #[arg(long, value_name = "X.Y")]
    engine_version: Option<String>,
}

pub fn run_envoy_gateway(args: EnvoyGatewayArgs, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let project = Project::require(&settings.cwd)?;
    let plugin = plugin::plugin(&project, envoy_gateway::ENGINE)?;
    let spec = project.gw_toml()?.deploy.envoy_gateway.clone();
    let flags = EnvoyGatewayOverrides {
        namespace: args.namespace,
        name: args.name,
        target_refs: args.target_refs,
        module_url: args.module_url,
        pull_secret: args.pull_secret,
        fail_open: args.fail_open,
        engine_version: args.engine_version,
    };
    let manifest = envoy_gateway::manifest(spec, flags, &plugin)?;
    let path = write(&args.output, &project, "envoy-gateway", (&manifest.file_name, &manifest.yaml), settings)?;
    terminal.status(format!(
        "EnvoyExtensionPolicy {} ({} bytes)",
        manifest.file_name.trim_end_matches(".yaml"),
        manifest.yaml.len()
    ));
    apply(&args.output, &path, settings, terminal)
}
