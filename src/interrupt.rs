//! Ctrl-C and SIGTERM for the whole process, once they matter: one thread
//! receives them. While something subscribes (a fleet of Envoys, which stops
//! them gracefully) the signal goes to it; otherwise the directories
//! registered for removal (an install's staging directory) are removed and
//! gw exits as the signal would have ended it (128 + its number).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, OnceLock};
use std::thread;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

struct State {
    next: u64,
    subscribers: Vec<(u64, Sender<i32>)>,
    cleanup: Vec<(u64, PathBuf)>,
}

static STATE: Mutex<State> = Mutex::new(State { next: 0, subscribers: Vec::new(), cleanup: Vec::new() });

/// Starts the receiving thread the first time it is needed; until then the
/// signals keep their default action.
fn ensure() -> std::io::Result<()> {
    static STARTED: OnceLock<Result<(), std::io::ErrorKind>> = OnceLock::new();
    let started = STARTED.get_or_init(|| {
        let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| e.kind())?;
        thread::Builder::new()
            .name("gw-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    dispatch(signal);
                }
            })
            .map_err(|e| e.kind())?;
        Ok(())
    });
    started.map_err(std::io::Error::from)
}

fn dispatch(signal: i32) {
    let state = STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !state.subscribers.is_empty() {
        for (_, subscriber) in &state.subscribers {
            let _ = subscriber.send(signal);
        }
        return;
    }
    for (_, path) in &state.cleanup {
        let _ = fs_err::remove_dir_all(path);
    }
    std::process::exit(128 + signal);
}

fn register(add: impl FnOnce(&mut State, u64)) -> u64 {
    let mut state = STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    state.next += 1;
    let id = state.next;
    add(&mut state, id);
    id
}

fn unregister(id: u64) {
    let mut state = STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    state.subscribers.retain(|(i, _)| *i != id);
    state.cleanup.retain(|(i, _)| *i != id);
}

/// Signals delivered to their holder instead of ending gw.
pub struct Subscription {
    id: u64,
    receiver: Receiver<i32>,
}

impl Subscription {
    pub fn new() -> std::io::Result<Subscription> {
        ensure()?;
        let (sender, receiver) = mpsc::channel();
        let id = register(|state, id| state.subscribers.push((id, sender)));
        Ok(Subscription { id, receiver })
    }

    /// A signal that arrived since the last call, if any.
    pub fn pending(&self) -> Option<i32> {
        self.receiver.try_recv().ok()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        unregister(self.id);
    }
}

/// A directory removed if gw is interrupted while this is held.
pub struct RemoveOnInterrupt {
    id: u64,
}

impl RemoveOnInterrupt {
    pub fn new(path: &Path) -> std::io::Result<RemoveOnInterrupt> {
        ensure()?;
        let path = path.to_path_buf();
        Ok(RemoveOnInterrupt { id: register(|state, id| state.cleanup.push((id, path))) })
    }
}

impl Drop for RemoveOnInterrupt {
    fn drop(&mut self) {
        unregister(self.id);
    }
}
