//! Running Envoy processes, alone or as a topology's fleet: supervision, admin
//! endpoints, debug bundles.

mod admin;
mod bundle;
mod fleet;
pub mod logs;
mod process;
mod supervise;

use std::path::PathBuf;

pub use admin::{Admin, ListenerState, Rejected, SNAPSHOT_PATHS};
pub use fleet::{Fleet, Member, Stop};
pub use process::{Ended, new_run_dir};
pub use supervise::{RunOutcome, RunRequest, run};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start {}: {source}", binary.display())]
    Spawn { binary: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("could not watch for signals: {0}")]
    Signals(std::io::Error),
    #[error("{names} did not become ready within {seconds} s")]
    NotReady { names: String, seconds: u64 },
    #[error("the Envoys were ready, but their listeners were not serving within {seconds} s")]
    NotServing { seconds: u64 },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
