//! `gw pull <ref>`: fetch a Wasm module published as an OCI artifact.

use std::path::PathBuf;

use crate::Result;
use crate::cli::Terminal;
use crate::download::Client;
use crate::oci::{self, ImageRef, Registry};
use crate::settings::Settings;

/// Fetch a Wasm module published as an OCI artifact (by gw push, wasme, or for Istio).
///
/// Every byte is checked against the manifest's digests before the file is written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The artifact: [oci://]registry/repository[:tag|@sha256:digest].
    #[arg(value_name = "REF")]
    image: String,
    /// Where to write the module (default: <repository name>.wasm here).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Talk plain HTTP to the registry (a local or test registry).
    #[arg(long)]
    insecure: bool,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let image: ImageRef = args.image.parse()?;
    let client = Client::new()?;
    let registry = Registry::connect(client.http(), &image, args.insecure, false)?;
    let pulled = oci::pull_wasm(&registry)?;
    let name = image.repository.rsplit('/').next().unwrap_or("plugin");
    let path = settings.cwd.join(args.output.unwrap_or_else(|| PathBuf::from(format!("{name}.wasm"))));
    crate::fsutil::write_atomically(&path, &pulled.wasm, 0o644)?;
    terminal.status(format!(
        "pulled {} ({} bytes) to {}",
        image.pinned(&pulled.digest),
        pulled.wasm.len(),
        path.display()
    ));
    println!("{}", path.display());
    Ok(0)
}
