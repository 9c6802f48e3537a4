//! gw: fetch pinned Envoy and Cilium builds, and run them.
//!
//! Layers: `cli` parses and prints; everything else is domain code that
//! reports progress through [`report::Reporter`] and returns typed errors.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod bpftest;
pub mod builds;
pub mod cli;
pub mod diagnose;
pub mod docker;
pub mod doctor;
pub mod download;
pub mod env_vars;
pub mod envoy;
pub mod envoy_api;
pub mod envoytest;
pub mod error;
pub mod fsutil;
pub mod gwtoml;
pub mod interrupt;
pub mod k8s;
pub mod lab;
pub mod limits;
pub mod oci;
pub mod project;
pub mod report;
pub mod scaffold;
pub mod settings;
pub mod toolchain;
pub mod topology;
pub mod wasmhost;
pub mod yaml_depth;

pub use error::{Error, Result};
pub mod yaml_write;
