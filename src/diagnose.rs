//! What every error gw shows says besides its message: whether the input was at
//! fault (exit code 2) or the operation failed (exit 1), and what to do about it.
//! Each domain error implements it; `error.rs` asks it, so no hint is lost on
//! the way up.

pub trait Diagnose: std::error::Error {
    /// Whether what the user gave (a flag, a file, a reference) was at fault.
    fn is_input(&self) -> bool {
        false
    }

    /// Advice on its own line, separate from the message.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// A file or socket that failed under gw: the operation, not the input. (gw's file errors
/// come from fs-err, so their message names the path.)
impl Diagnose for std::io::Error {}
