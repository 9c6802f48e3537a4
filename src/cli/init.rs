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
    let dev_jwt = answers.template.dev_jwt.as_ref().map(|files| dev_jwt(&answers, files)).transpose()?;
    let manifest = |root: &std::path::Path| -> std::result::Result<Vec<(String, String)>, String> {
        let mut text = manifest_text(&answers.name, kind, &answers.template.id);
        match answers.template.topology {
            Some(own) => {
                text.push_str(&scaffold::render_text(&answers, "topology.toml", own).map_err(|e| e.to_string())?)
            }
            None if kind == Kind::ProxyWasm => {
                text.push_str(&topology::initial::text(root).map_err(|e| e.to_string())?)
            }
            None => {}
        }
        let mut files = vec![("gw.toml".into(), text)];
        files.extend(dev_jwt.iter().flat_map(|made| made.files.clone()));
        Ok(files)
    };
    let rendered = scaffold::render(&answers, &target, args.force, &manifest)?;
    let shown = rendered.root.strip_prefix(&settings.cwd).unwrap_or(&rendered.root);
    terminal.status(format!(
        "created {} from template {} ({} files)",
        terminal.bold(shown.display()),
        answers.template.id,
        rendered.files.len()
    ));
    if let Some(made) = &dev_jwt {
        terminal.status(format!(
            "a development JWKS is in {} and a token it verifies (valid {} days) in {}; its key was not kept",
            made.jwks, made.days, made.token
        ));
    }
    terminal.status(format!("next: cd {} && gw build && gw test", shown.display()));
    Ok(0)
}

/// The template's development JWKS and token, made now.
struct MadeJwt {
    jwks: String,
    token: String,
    days: u64,
    files: Vec<(String, String)>,
}

fn dev_jwt(answers: &scaffold::Answers, files: &scaffold::DevJwtFiles) -> Result<MadeJwt> {
    let render = |what: &str, text: &str| scaffold::render_text(answers, &format!("dev_jwt.{what}"), text);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let claims = topology::devjwt::Claims {
        issuer: render("issuer", &files.issuer)?,
        audience: render("audience", &files.audience)?,
        subject: render("subject", &files.subject)?,
        issued_at: now,
        expires_at: now.saturating_add(files.days.saturating_mul(86_400)),
    };
    let made = topology::devjwt::generate(&claims).map_err(topology::Error::from)?;
    let (jwks, token) = (render("jwks", &files.jwks)?, render("token", &files.token)?);
    let written = vec![(jwks.clone(), made.jwks), (token.clone(), made.token)];
    Ok(MadeJwt { jwks, token, days: files.days, files: written })
}
