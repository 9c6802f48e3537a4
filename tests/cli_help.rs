//! The `--help` of every command, snapshotted: the command line is a
//! contract, so any change to it shows up in review. The commands come from
//! clap's own tree, so a new one cannot go unsnapshotted. And the whole output
//! of common mistakes, so a message that gets worse shows up too.

mod common;

use std::process::Command;

use clap::CommandFactory;

/// Every subcommand path under gw (`["deploy", "cilium"]`), from clap's tree.
fn commands() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&gw::cli::Cli::command(), &mut Vec::new(), &mut out);
    out
}

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
    let commands = commands();
    assert!(commands.len() >= 18, "{commands:?}");
    for command in commands {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        insta::assert_snapshot!(format!("gw-{}", command.join("-")), help(&args));
    }
}

/// The whole stderr of common mistakes, the fixture's temporary paths and ports filtered out.
#[test]
fn common_mistakes_are_explained_whole() {
    let gw = common::gw::Gw::new();
    let project = gw.work().join("shop");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("gw.toml"),
        "[project]\nname = \"shop\"\nkind = \"proxy-wasm\"\n\n[topolgy.front]\nport = 1\n",
    )
    .unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        ("bad-reference", &["fetch", "1.x"], "work"),
        ("unknown-flavor", &["fetch", "nope:1.2.3"], "work"),
        ("unknown-source", &["fetch", "1.36", "--source", "ftp"], "work"),
        ("unknown-version", &["fetch", "9.9.9", "--source", "index"], "work"),
        ("no-default", &["run", "--", "--version"], "work"),
        ("not-envoy", &["run", "cilium-cli:0.18.3"], "work"),
        ("watch-outside-a-project", &["run", "--watch"], "work"),
        ("not-a-project", &["build"], "work"),
        ("gw-toml-typo", &["run"], "shop"),
    ];
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&gw.root.path().display().to_string()), "[TMP]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.bind(|| {
        for (name, args, dir) in cases {
            let dir = if *dir == "shop" { project.clone() } else { gw.work() };
            let run: common::gw::Run = gw.command(args).current_dir(dir).output().unwrap().into();
            let shown = format!("$ gw {}\nexit {}\n{}", args.join(" "), run.code, run.stderr);
            insta::assert_snapshot!(format!("mistake-{name}"), shown);
        }
    });
}

fn regex_escape(text: &str) -> String {
    text.chars().map(|c| if "\\.+*?()|[]{}^$".contains(c) { format!("\\{c}") } else { c.to_string() }).collect()
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
