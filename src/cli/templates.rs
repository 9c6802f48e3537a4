//! `gw templates`: what `gw init` can create.

use serde::Serialize;

use crate::Result;
use crate::scaffold;

/// List the project templates (proxy-wasm filters and eBPF programs) with their parameters.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON (an array of objects) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    kind: &'a str,
    description: &'a str,
    default: bool,
    parameters: Vec<Param<'a>>,
}

#[derive(Serialize)]
struct Param<'a> {
    name: &'a str,
    prompt: &'a str,
    default: Option<&'a str>,
    pattern: Option<&'a str>,
    choices: &'a [String],
}

pub fn run(args: Args) -> Result<i32> {
    let templates = scaffold::templates()?;
    if args.json {
        let rows: Vec<Row> = templates
            .iter()
            .map(|t| Row {
                id: &t.id,
                kind: t.kind.as_str(),
                description: &t.description,
                default: scaffold::is_default(&t.id),
                parameters: t
                    .parameters
                    .iter()
                    .map(|p| Param {
                        name: &p.name,
                        prompt: &p.prompt,
                        default: p.default.as_deref(),
                        pattern: p.pattern.as_deref(),
                        choices: &p.choices,
                    })
                    .collect(),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows).expect("rows serialise"));
        return Ok(0);
    }
    let width = templates.iter().map(|t| t.id.len()).max().unwrap_or(0);
    for t in &templates {
        let mark = if scaffold::is_default(&t.id) { "*" } else { " " };
        println!("{mark} {:<width$}  {:<10}  {}", t.id, t.kind.as_str(), t.description);
        for p in &t.parameters {
            let default = p.default.as_deref().map(|d| format!(" [default: {d}]")).unwrap_or_default();
            let choices = if p.choices.is_empty() { String::new() } else { format!(" ({})", p.choices.join("|")) };
            println!("    -d {}=…  {}{choices}{default}", p.name, p.prompt);
        }
    }
    println!("* the default of its kind: `gw init -t proxy-wasm` or `-t ebpf` picks it");
    Ok(0)
}
