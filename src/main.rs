//! The gw binary: parse, run, report the error, exit. Nothing else happens here.

use clap::Parser;

fn main() {
    let cli = gw::cli::Cli::parse();
    let code = gw::cli::run(cli);
    std::process::exit(code);
}
