//! `gw init`: a new project from a template.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::Result;
use crate::cli::Terminal;
use crate::cli::prompt::Dialoguer;
use crate::project::{Kind, manifest_text};
use crate::scaffold::{self, Prompter, Request};
use crate::settings::Settings;
use crate::topology;

/// Create a project from a template: a proxy-wasm filter or an eBPF program.
///
/// On a terminal gw asks for what the flags do not give; without one it never
/// prompts and names the flag for any missing value. The project is written
/// to a temporary directory first and renamed into place, so a failure leaves
/// nothing behind. `gw templates` lists the templates and their parameters.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to create (default: ./<name>); its name is the default project name.
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,

    /// The template, e.g. http-filter or xdp (see `gw templates`); proxy-wasm or ebpf: that kind's default.
    #[arg(long, short, value_name = "ID")]
    template: Option<String>,

    /// The project (crate) name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,

    /// A template parameter, e.g. -d header=x-team; repeatable.
    #[arg(long = "define", short = 'd', value_name = "KEY=VALUE")]
    defines: Vec<String>,

    /// Take every default instead of asking.
    #[arg(long)]
    accept_defaults: bool,

    /// Write into a directory that is not empty (files of the same name are replaced).
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let interactive = !args.accept_defaults && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let dialoguer = Dialoguer::new();
    let prompter: Option<&dyn Prompter> = if interactive { Some(&dialoguer) } else { None };
    let name = args
        .name
        .clone()
        .or_else(|| args.dir.as_ref().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()));
    let answers = scaffold::collect(
        Request { template: args.template, name, defines: args.defines, accept_defaults: args.accept_defaults },
        prompter,
    )?;
    let target = settings.cwd.join(args.dir.unwrap_or_else(|| PathBuf::from(&answers.name)));
    let kind = answers.template.kind;
    let manifest = |root: &std::path::Path| -> std::result::Result<Vec<(String, String)>, String> {
        let mut text = manifest_text(&answers.name, kind, &answers.template.id);
        if kind == Kind::ProxyWasm {
            text.push_str(&topology::initial::text(root).map_err(|e| e.to_string())?);
        }
        Ok(vec![("gw.toml".into(), text)])
    };
    let rendered = scaffold::render(&answers, &target, args.force, &manifest)?;
    let shown = rendered.root.strip_prefix(&settings.cwd).unwrap_or(&rendered.root);
    terminal.status(format!(
        "created {} from template {} ({} files)",
        terminal.bold(shown.display()),
        answers.template.id,
        rendered.files.len()
    ));
    terminal.status(format!("next: cd {} && gw build && gw test", shown.display()));
    Ok(0)
}
