//! `gw validate <FILE>...`: Envoy configs checked against Envoy's API schema.

use std::path::PathBuf;

use crate::cli::Terminal;
use crate::envoy_api::validate::{self, Error};
use crate::{Error as GwError, Result};

/// Check Envoy configs (v3 bootstrap YAML or JSON) against Envoy's API schema.
///
/// Reports unknown fields and `@type`s, malformed values and the protoc-gen-validate rules Envoy
/// declares (required fields, ranges, lengths), each with its field path and line. Prints
/// `<file>: ok` for a valid file; exits 2 if any file is invalid or unreadable.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config files, e.g. envoy.yaml.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: Args, terminal: &Terminal) -> Result<i32> {
    let mut code = 0;
    for file in &args.files {
        let shown = file.display();
        match validate::validate_file(file) {
            Ok(()) => println!("{shown}: ok"),
            Err(Error::Invalid { problems, .. }) => {
                for problem in problems {
                    match problem.line {
                        Some(line) => println!("{shown}:{line}: {problem}"),
                        None => println!("{shown}: {problem}"),
                    }
                }
                code = 2;
            }
            Err(error) => {
                let error = GwError::from(error);
                terminal.error(&error);
                code = code.max(error.exit_code());
            }
        }
    }
    Ok(code)
}
