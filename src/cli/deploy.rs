//! `gw deploy`: the project's filters as the objects of the engine that runs
//! them in a cluster (Cilium, Istio, Envoy Gateway), checked, written, and
//! optionally applied with kubectl.

use crate::Result;
use crate::cli::Terminal;
use crate::cli::deploy_output::{Output, apply, write};
use crate::k8s::{self, ModuleSource, Overrides};
use crate::project::Project;
use crate::settings::Settings;

/// Ship the project's filters to a Kubernetes cluster.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    target: Target,
}

#[derive(Debug, clap::Subcommand)]
enum Target {
    Cilium(CiliumArgs),
    Istio(super::deploy_engines::IstioArgs),
    EnvoyGateway(super::deploy_engines::EnvoyGatewayArgs),
}

/// Write a CiliumEnvoyConfig that runs the filters in Cilium's Envoy, in front of Services.
///
/// Cilium redirects each named Service's traffic to an Envoy listener with the front's filters
/// from [topology] (then those of a [[topology.services]] entry of the same name) and sends it on
/// to the Service's backends. The listener also carries the gateway's policies: the front's JWT
/// (its JWKS inline), rate limit and CORS, the routes to that Service with their policies, and
/// the Service's upstream policies; what it cannot carry is listed. The module travels inside
/// the object (base64), or is fetched by
/// Envoy from --module-url and checked against the build's sha256. The Envoy resources are
/// checked against Envoy's API schema before anything is written. Flags win over [deploy.cilium]
/// in gw.toml. Prints the written file.
#[derive(Debug, clap::Args)]
struct CiliumArgs {
    #[command(flatten)]
    output: Output,
    /// The namespace of the CiliumEnvoyConfig and of the Services (default: default).
    #[arg(long, short, value_name = "NS")]
    namespace: Option<String>,
    /// A Service whose traffic passes the filters, optionally on one port only; repeatable.
    #[arg(long = "service", value_name = "NAME[:PORT]")]
    services: Vec<String>,
    /// The CiliumEnvoyConfig's name (default: gw-<project name>).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Have Envoy fetch the project's module from this http(s) URL instead of carrying it inline.
    #[arg(long, value_name = "URL")]
    module_url: Option<String>,
    /// Write a CiliumClusterwideEnvoyConfig (cluster-scoped) instead.
    #[arg(long)]
    clusterwide: bool,
    /// Only the Envoys of nodes with this label; repeatable (all must match).
    #[arg(long, value_name = "KEY=VALUE")]
    node_selector: Vec<String>,
    /// The Cilium release the cluster runs (e.g. 1.17): refused unless gw carries its CRD.
    #[arg(long, value_name = "X.Y")]
    engine_version: Option<String>,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let args = match args.target {
        Target::Cilium(args) => args,
        Target::Istio(args) => return super::deploy_engines::run_istio(args, settings, terminal),
        Target::EnvoyGateway(args) => return super::deploy_engines::run_envoy_gateway(args, settings, terminal),
    };
    let project = Project::require(&settings.cwd)?;
    let overrides = Overrides {
        namespace: args.namespace,
        name: args.name,
        services: args.services,
        module_url: args.module_url,
        clusterwide: args.clusterwide,
        node_selector: args.node_selector,
        engine_version: args.engine_version,
    };
    let (resolved, manifest) = k8s::cilium_manifest(&project, overrides)?;
    let path = write(&args.output, &project, "cilium", (&manifest.file_name, &manifest.yaml), settings)?;
    let module = match &resolved.module {
        ModuleSource::Inline => "inline".to_string(),
        ModuleSource::Url(url) => format!("fetched from {url}"),
    };
    let (kind, scope) = match resolved.clusterwide {
        true => ("CiliumClusterwideEnvoyConfig", String::new()),
        false => ("CiliumEnvoyConfig", format!("{}/", resolved.namespace)),
    };
    terminal.status(format!("{kind} {scope}{} ({} bytes, module {module})", resolved.name, manifest.yaml.len()));
    for (target, (listener, filters)) in resolved.targets.iter().zip(&manifest.listeners) {
        let port = target.port.map(|p| format!(" port {p}")).unwrap_or_default();
        terminal.detail(format!("  Service {}{port} → listener {listener}: {}", target.service, filters.join(", ")));
    }
    if !manifest.policies.is_empty() {
        terminal.status(format!("CiliumNetworkPolicy {}/{}", resolved.namespace, resolved.name));
        for line in &manifest.policies {
            terminal.detail(format!("  {line}"));
        }
    }
    for note in &manifest.not_carried {
        terminal.detail(format!("  {note}"));
    }
    apply(&args.output, &path, settings, terminal)
}
