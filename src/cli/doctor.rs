//! `gw doctor`: what is installed, what is missing, how to fix it.

use crate::Result;
use crate::cli::Terminal;
use crate::doctor::{self, Status};
use crate::settings::Settings;

/// Check gw's home, builds, default, network settings and Docker, with fixes for what is missing.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    println!("gw {}", env!("CARGO_PKG_VERSION"));
    for finding in doctor::examine(settings) {
        let mark = match finding.status {
            Status::Ok => "ok",
            Status::Note => "--",
            Status::Missing => "!!",
        };
        println!("{mark} {:<12} {}", finding.topic, finding.detail);
        if let Some(fix) = finding.fix {
            println!("   {:<12} fix: {}", "", terminal.bold(fix));
        }
    }
    Ok(0)
}
