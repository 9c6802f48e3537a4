//! Running Envoy processes, alone or as a topology's fleet: supervision, admin
//! endpoints, debug bundles.

mod admin;
mod bundle;
mod fleet;
pub mod logs;
mod process;
mod supervise;
mod verdict;

use std::path::PathBuf;

pub use admin::{Admin, ListenerState, Rejected, SNAPSHOT_PATHS};
pub use fleet::{Fleet, Member, Stop, Stopping, Waited, signal_name};
pub use process::{Ended, Launch, Process, exit_code, new_run_dir};
pub use supervise::{RunOutcome, RunRequest, run};
pub use verdict::{Verdict, validate_mode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start {}: {source}", binary.display())]
    Spawn { binary: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("could not watch for signals: {0}")]
    Signals(std::io::Error),
    #[error("{names} did not become ready within {seconds} s")]
    NotReady { names: String, seconds: u64 },
    #[error("the Envoys were ready, but their listeners were not serving within {seconds} s")]
    NotServing { seconds: u64 },
    #[error("envoy --mode validate did not finish {} within {seconds} s; it was stopped", file.display())]
    ValidateHung { file: PathBuf, seconds: u64 },
}

/// Envoy could not be started or supervised: the operation failed, not the input.
impl crate::diagnose::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::NotReady { .. } | Error::NotServing { .. } => {
                Some("each Envoy's log is in its run directory (stderr.log), and in its debug bundle".into())
            }
            _ => None,
        }
    }
}

impl Error {}
