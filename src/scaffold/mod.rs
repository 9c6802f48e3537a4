//! Project templates: data embedded from templates/ (proxy-wasm) and
//! ebpf-templates/ (aya), their parameters, and rendering a new project
//! atomically (a temporary directory renamed into place).

mod answers;
mod names;
mod registry;
mod render;

use std::path::PathBuf;

pub use answers::{Answers, Prompter, Request, collect};
pub use names::check_project_name;
pub use registry::{DEFAULT_EBPF_TEMPLATE, DEFAULT_TEMPLATE, DevJwtFiles, Parameter, Template, is_default, templates};
pub use render::{Rendered, render, render_text};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown template '{0}'; `gw templates` lists them: {1}")]
    UnknownTemplate(String, String),
    #[error("'{name}' cannot be a project name: {reason}")]
    BadName { name: String, reason: String },
    #[error("-d {0}: expected key=value")]
    BadDefine(String),
    #[error("template {template} has no parameter '{key}' (given with -d); its parameters: {known}")]
    UnknownParameter { template: String, key: String, known: String },
    #[error("{name} = '{value}' does not match the pattern {pattern}{help}")]
    PatternMismatch { name: String, value: String, pattern: String, help: String },
    #[error("{name} = '{value}' is not one of: {choices}")]
    NotAChoice { name: String, value: String, choices: String },
    #[error("missing {what}; without a terminal gw does not prompt: pass {flag}")]
    Missing { what: String, flag: String },
    #[error("{} exists and is not empty", .0.display())]
    NotEmpty(PathBuf),
    #[error("{} is a file, not a directory to make the project in", .0.display())]
    NotADirectory(PathBuf),
    #[error("{}: the parent directory does not exist; gw makes the project's directory, not the ones above it", .0.display())]
    NoParent(PathBuf),
    #[error("template {template}: {message}")]
    Template { template: String, message: String },
    #[error("{} is a symbolic link; gw does not write {} through it", link.display(), file.display())]
    LinkInTarget { link: PathBuf, file: PathBuf },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the prompt failed: {0}")]
    Prompt(String),
}

impl Error {}

impl crate::diagnose::Diagnose for Error {
    fn is_input(&self) -> bool {
        !matches!(self, Error::Template { .. } | Error::Io(_) | Error::Prompt(_))
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::NotEmpty(_) => Some("choose another directory, or pass --force to write into it".into()),
            Error::LinkInTarget { .. } => {
                Some("nothing was written; replace the link with a directory, or make the project elsewhere".into())
            }
            Error::Missing { .. } => Some("or pass --accept-defaults to take every default".into()),
            _ => None,
        }
    }
}
