//! `gw push <ref>`: publish a Wasm module as an OCI artifact.

use std::path::PathBuf;

use crate::Result;
use crate::cli::Terminal;
use crate::download::Client;
use crate::oci::{self, ImageRef, Registry, Upload};
use crate::project::Project;
use crate::settings::Settings;
use crate::topology;

/// Publish the built filter to a registry as an OCI artifact.
///
/// The artifact is what Istio's WasmPlugin (url: oci://…) and wasme load: one layer of media type
/// application/vnd.module.wasm.content.layer.v1+wasm titled plugin.wasm, and a config of media type
/// application/vnd.module.wasm.config.v1+json. Credentials come from ~/.docker/config.json
/// (`docker login`). Prints the pushed reference with its digest.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to publish: [oci://]registry/repository[:tag], e.g. ghcr.io/acme/auth-filter:0.1.0.
    #[arg(value_name = "REF")]
    image: String,
    /// Push this module instead of the project's build (target/gw/<name>.wasm).
    #[arg(long, value_name = "FILE")]
    wasm: Option<PathBuf>,
    /// Talk plain HTTP to the registry (a local or test registry).
    #[arg(long)]
    insecure: bool,
    /// The layout: `wasm` (a Wasm OCI artifact, one module layer) or `compat` (an ordinary image
    /// whose one layer holds plugin.wasm, for registries that take only container images). Istio
    /// and Envoy Gateway read both.
    #[arg(long, value_enum, default_value_t = PushFormat::Wasm)]
    format: PushFormat,

    /// Upload blobs in chunks of this many bytes instead of in one request.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..))]
    chunk_size: Option<u32>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PushFormat {
    Wasm,
    Compat,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let image: ImageRef = args.image.parse()?;
    // The project's own build is recorded for `gw deploy istio` and `gw deploy envoy-gateway`.
    let (path, record_in) = match args.wasm {
        Some(path) => (settings.cwd.join(path), None),
        None => {
            let project = Project::require(&settings.cwd)?;
            let wasm = topology::built_module(&project)?.wasm;
            (wasm, Some(project.root.join(crate::toolchain::OUTPUT_DIR)))
        }
    };
    let wasm = fs_err::read(&path)?;
    let abi = oci::abi_versions(&path, &wasm)?;
    let client = Client::new()?;
    let registry = Registry::connect(client.http(), &image, args.insecure, true)?;
    let upload = args.chunk_size.map_or(Upload::Monolithic, |size| Upload::Chunked(size as usize));
    terminal.status(format!("pushing {} ({} bytes) to {image}", path.display(), wasm.len()));
    let format = match args.format {
        PushFormat::Wasm => oci::Format::Wasm,
        PushFormat::Compat => oci::Format::Compat,
    };
    let pushed = oci::push_wasm(&registry, &wasm, abi, (format, upload))?;
    terminal.detail(format!("layer {} (plugin.wasm), manifest {} bytes", pushed.layer, pushed.size));
    if let Some(dir) = record_in {
        let record = oci::PushRecord {
            image: image.to_string(),
            digest: pushed.digest.to_string(),
            module_sha256: crate::download::Sha256::of_bytes(&wasm).as_str().to_string(),
            credentials: registry.has_credentials(),
        };
        record.write(&dir)?;
    }
    println!("{}", image.pinned(&pushed.digest));
    Ok(0)
}
