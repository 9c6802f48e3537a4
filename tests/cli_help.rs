//! The `--help` of every command, snapshotted: the command line is a
//! contract, so any change to it shows up in review.

use std::process::Command;

const COMMANDS: &[&str] = &[
    "versions",
    "fetch",
    "which",
    "use",
    "run",
    "init",
    "templates",
    "build",
    "clean",
    "test",
    "validate",
    "render",
    "push",
    "pull",
    "deploy",
    "deploy cilium",
    "doctor",
    "completions",
];

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_gw"))
        .args(args)
        // No GW_* variable may leak its value into the snapshot.
        .env_clear()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!("gw", help(&["--help"]));
}

#[test]
fn every_command_has_help() {
    for command in COMMANDS {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        insta::assert_snapshot!(format!("gw-{}", command.replace(' ', "-")), help(&args));
    }
}

#[test]
fn usage_errors_exit_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_gw")).arg("no-such-command").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand 'no-such-command'"));
}

#[test]
fn completions_are_generated() {
    let bash = help(&["completions", "bash"]);
    assert!(bash.contains("_gw()") && bash.contains("versions"), "{bash}");
    assert!(help(&["completions", "zsh"]).contains("#compdef gw"));
}
