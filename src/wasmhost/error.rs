//! What can stop the host before a case runs. Everything that goes wrong inside a case (a trap,
//! a loop, memory, a missing host function) is a failed case instead, never an `Error`.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not a WebAssembly module gw can compile: {message}", path.display())]
    Compile { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Scenario { path: PathBuf, message: String },
}

impl crate::diagnose::Diagnose for Error {
    /// True when the user's input is at fault (a bad module or scenario file), not the machine.
    fn is_input(&self) -> bool {
        matches!(self, Error::Compile { .. } | Error::Scenario { .. })
    }

    /// Advice on its own line(s), separate from the message.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Compile { .. } => {
                Some("build the filter for wasm32-unknown-unknown or wasm32-wasip1 (`gw build`)".into())
            }
            Error::Scenario { .. } => Some("the scenario keys are described in docs/testing.md".into()),
            _ => None,
        }
    }
}
