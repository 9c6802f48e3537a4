//! `gw render [--out DIR]`: the project's topology as Envoy configs, checked
//! against Envoy's API schema, written without running anything.

use std::path::PathBuf;

use crate::Result;
use crate::cli::Terminal;
use crate::project::Project;
use crate::settings::Settings;
use crate::topology::{self, free_port};

/// Write the topology's Envoy configs (front.yaml and <service>.yaml) without running them.
///
/// Each file is checked against Envoy's API schema first; nothing is written unless all pass.
/// Ports not set in gw.toml, and the echo upstreams' ports, are picked free now (gw run picks
/// its own). The filters point at the module gw build writes to target/gw/.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the files (default: target/gw/envoy in the project).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let project = Project::require(&settings.cwd)?;
    let spec = topology::load_spec(&project)?;
    let module = topology::project_module(&project)?;
    let plan = topology::plan(&spec, &module, &mut |_, _| free_port(), None, settings.layout.home())?;
    let files = topology::render_checked(&plan)?;
    let out = match args.out {
        Some(dir) => settings.cwd.join(dir),
        None => project.root.join(crate::toolchain::OUTPUT_DIR).join("envoy"),
    };
    fs_err::create_dir_all(&out)?;
    for file in &files {
        let path = out.join(&file.name);
        fs_err::write(&path, &file.yaml)?;
        println!("{}", path.strip_prefix(&settings.cwd).unwrap_or(&path).display());
    }
    if !module.wasm.is_file() {
        terminal.warning(format!("{} does not exist yet; `gw build` makes it", module.wasm.display()));
    }
    Ok(0)
}
