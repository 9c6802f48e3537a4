//! `gw validate <FILE>...`: Envoy configs checked against Envoy's API schema, then by Envoy.

use std::path::PathBuf;

use crate::builds::Reference;
use crate::cli::Terminal;
use crate::cli::source::SourceArgs;
use crate::envoy::{self, Verdict};
use crate::envoy_api::validate::{self, Error};
use crate::settings::Settings;
use crate::{Error as GwError, Result};

/// Check Envoy configs (v3 bootstrap YAML or JSON) against Envoy's API schema, and by Envoy.
///
/// First gw's own check: unknown fields and `@type`s, malformed values and the
/// protoc-gen-validate rules Envoy declares (required fields, ranges, lengths), each with its
/// field path and line. Then Envoy's own `--mode validate`, which also checks what the schema
/// cannot (clusters that routes name, extensions, files the config names): with --envoy REF, or
/// the default build when one is installed. The verdict is Envoy's when Envoy ran. Prints
/// `<file>: ok` for a valid file; exits 2 if any file is invalid or unreadable.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config files, e.g. envoy.yaml.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// The Envoy build whose --mode validate judges the files (fetched if needed), e.g. 1.40.
    #[arg(long, value_name = "REF", conflicts_with = "schema_only")]
    envoy: Option<Reference>,
    /// Only gw's schema check, even when a default build is installed.
    #[arg(long)]
    schema_only: bool,

    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let judge = judge(&args, settings, terminal)?;
    let mut code = 0;
    for file in &args.files {
        let shown = file.display();
        let schema = match validate::validate_file(file) {
            Ok(()) => Vec::new(),
            Err(Error::Invalid { problems, .. }) => problems,
            Err(error) => {
                let error = GwError::from(error);
                terminal.error(&error);
                code = code.max(error.exit_code());
                continue;
            }
        };
        for problem in &schema {
            match problem.line {
                Some(line) => println!("{shown}:{line}: {problem}"),
                None => println!("{shown}: {problem}"),
            }
        }
        let verdict = match &judge {
            Some((name, binary)) => Some((name, envoy::validate_mode(binary, file)?)),
            None => None,
        };
        match verdict {
            Some((name, Verdict::Refused(reason))) => {
                println!("{shown}: {name}: {reason}");
                code = 2;
            }
            Some((name, Verdict::Accepted)) if !schema.is_empty() => {
                // Envoy is the judge; gw's schema check was wrong here, and says so.
                terminal.warning(format!(
                    "{shown}: {name} accepts it; gw's schema check above is wrong about it (please report it)"
                ));
                println!("{shown}: ok");
            }
            None if !schema.is_empty() => code = 2,
            _ => println!("{shown}: ok"),
        }
    }
    Ok(code)
}

/// The Envoy that judges: the named build (installed if needed), else the default build if it
/// is installed, else none (gw says so).
fn judge(args: &Args, settings: &Settings, terminal: &Terminal) -> Result<Option<(String, PathBuf)>> {
    if args.schema_only {
        return Ok(None);
    }
    match super::judge::envoy_build(args.envoy.as_ref(), &args.source, "gw validate", settings, terminal)? {
        Some(build) => Ok(Some((format!("Envoy {}", build.version), build.binary))),
        None => {
            terminal.warning(
                "gw's schema check only: no default Envoy build is installed to judge the files \
                 (name one with --envoy REF, or `gw use <ref>`; --schema-only says this is intended)",
            );
            Ok(None)
        }
    }
}
