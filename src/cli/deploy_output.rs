//! Where every `gw deploy` object goes: the file under `--out`, then, with
//! `--apply`, kubectl.

use std::path::PathBuf;

use crate::Result;
use crate::cli::Terminal;
use crate::k8s::{self, kubectl};
use crate::project::Project;
use crate::settings::Settings;

/// Where the object goes: every engine's flags.
#[derive(Debug, clap::Args)]
pub struct Output {
    /// Where to write <name>.yaml (default: target/gw/<engine> in the project).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Then apply it: kubectl apply --server-side --force-conflicts --field-manager=gw.
    #[arg(long)]
    apply: bool,
    /// The kubectl context to apply in (default: kubectl's current context).
    #[arg(long, value_name = "NAME", requires = "apply")]
    context: Option<String>,
}

/// Writes the object into `--out` (default `target/gw/<engine>`); its path.
pub fn write(
    output: &Output,
    project: &Project,
    engine: &str,
    (file_name, yaml): (&str, &str),
    settings: &Settings,
) -> Result<PathBuf> {
    let out = match &output.out {
        Some(dir) => settings.cwd.join(dir),
        None => project.root.join(crate::toolchain::OUTPUT_DIR).join(engine),
    };
    if out.exists() && !out.is_dir() {
        let value = out.display().to_string();
        let reason = "is a file; --out names the directory to write the object into".to_string();
        return Err(k8s::Error::Input { place: "--out".into(), value, reason }.into());
    }
    fs_err::create_dir_all(&out)?;
    let path = out.join(file_name);
    crate::fsutil::write_atomically(&path, yaml.as_bytes(), 0o644)?;
    Ok(path)
}

/// Prints the written file, and with --apply hands it to kubectl; kubectl's exit code.
pub fn apply(output: &Output, path: &std::path::Path, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let shown = path.strip_prefix(&settings.cwd).unwrap_or(path);
    println!("{}", shown.display());
    if !output.apply {
        return Ok(0);
    }
    let applied = kubectl::apply(path, output.context.as_deref())?;
    print!("{}", applied.stdout);
    eprint!("{}", applied.stderr);
    if applied.code != 0
        && let Some(hint) = kubectl::hint(&applied.stderr)
    {
        terminal.hint(hint);
    }
    Ok(applied.code)
}
