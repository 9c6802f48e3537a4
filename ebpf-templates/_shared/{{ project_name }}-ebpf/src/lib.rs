#![no_std]

// This file exists to enable the library target: the loader names this crate
// as a build dependency so that cargo rebuilds it when the program changes.
