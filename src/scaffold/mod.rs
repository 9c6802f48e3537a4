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
pub use registry::{DEFAULT_EBPF_TEMPLATE, DEFAULT_TEMPLATE, Parameter, Template, is_default, templates};
pub use render::{Rendered, render};

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
    #[error("template {template}: {message}")]
    Template { template: String, message: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the prompt failed: {0}")]
    Prompt(String),
}

impl Error {
    pub fn is_input(&self) -> bool {
        !matches!(self, Error::Template { .. } | Error::Io { .. } | Error::Prompt(_))
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotEmpty(_) => Some("choose another directory, or pass --force to write into it".into()),
            Error::Missing { .. } => Some("or pass --accept-defaults to take every default".into()),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
