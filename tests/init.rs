//! `gw init` and `gw templates`: every template renders, bad input writes
//! nothing, the wizard works on a real pseudo-terminal.

mod common;

use std::path::{Path, PathBuf};

use common::gw::Gw;

fn template_ids(gw: &Gw) -> Vec<(String, String)> {
    let json: serde_json::Value = serde_json::from_str(&gw.run(&["templates", "--json"]).ok().stdout).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_string(), t["kind"].as_str().unwrap().to_string()))
        .collect()
}

fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Names in the work directory: a failed init must leave it as it was.
fn work_entries(gw: &Gw) -> Vec<String> {
    let mut names = common::gw::list(&gw.work());
    names.sort();
    names
}

#[test]
fn every_template_renders_and_its_file_list_is_stable() {
    let gw = Gw::new();
    let ids = template_ids(&gw);
    assert!(ids.iter().any(|(id, kind)| id == "http-filter" && kind == "proxy-wasm"));
    for (id, kind) in ids {
        let name = format!("p-{id}");
        let run = gw.run(&["init", &name, "--template", &id, "--accept-defaults"]);
        run.ok();
        assert!(run.stderr.contains(&format!("created {name} from template {id}")), "{}", run.stderr);
        let root = gw.work().join(&name);
        let manifest = std::fs::read_to_string(root.join("gw.toml")).unwrap();
        assert!(manifest.contains(&format!("kind = \"{kind}\"")) && manifest.contains(&format!("template = \"{id}\"")));
        let files = files_under(&root);
        for file in &files {
            let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
            assert!(!text.contains("{{ project_name"), "{id}/{file} was not rendered");
        }
        insta::assert_snapshot!(format!("files-{id}"), files.join("\n"));
    }
    assert!(!work_entries(&gw).iter().any(|n| n.starts_with(".gw-init-")), "no staging left");
}

#[test]
fn parameters_reach_the_files() {
    let gw = Gw::new();
    gw.run(&["init", "tagger", "-t", "http-filter", "-d", "header=x-team", "-d", "value=edge", "--accept-defaults"])
        .ok();
    let config = std::fs::read_to_string(gw.work().join("tagger/src/config.rs")).unwrap();
    assert!(config.contains("\"x-team\"") && config.contains("\"edge\""), "{config}");
    let cargo = std::fs::read_to_string(gw.work().join("tagger/Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"tagger\""));
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    let gw = Gw::new();
    std::fs::create_dir_all(gw.work().join("taken")).unwrap();
    std::fs::write(gw.work().join("taken/keep.txt"), "mine").unwrap();
    std::fs::write(gw.work().join("a-file"), "not a directory").unwrap();
    let before = work_entries(&gw);
    let cases: &[(&[&str], &str)] = &[
        (&["init", "Bad-Name", "--accept-defaults"], "'Bad-Name' cannot be a project name"),
        (&["init", "--name", "fn", "x", "--accept-defaults"], "'fn' cannot be a project name: it is a Rust keyword"),
        (&["init", "log", "--accept-defaults"], "template http-filter depends on a crate of that name"),
        (&["init", "aya", "-t", "xdp", "--accept-defaults"], "template xdp depends on a crate of that name"),
        (&["init", "ok", "-t", "nope"], "unknown template 'nope'"),
        (&["init", "ok", "-t", "http-filter", "-d", "header=Not A Header"], "does not match the pattern"),
        (&["init", "ok", "-t", "http-filter", "-d", "colour=red", "--accept-defaults"], "has no parameter 'colour'"),
        (&["init", "ok", "-t", "http-filter", "-d", "novalue", "--accept-defaults"], "-d novalue: expected key=value"),
        (&["init", "ok", "-t", "http-filter"], "pass -d header=VALUE"),
        (&["init", "ok"], "pass --template <ID>"),
        (&["init", "--accept-defaults"], "missing the project name"),
        (&["init", "taken", "--accept-defaults"], "exists and is not empty"),
        (&["init", "nowhere/deeper/proj", "--accept-defaults"], "the parent directory does not exist"),
        (&["init", "a-file", "--accept-defaults"], "a-file is a file, not a directory"),
    ];
    for (args, needle) in cases {
        let run = gw.run(args);
        assert_eq!(run.code, 2, "{args:?}: a usage error\n{}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: stderr lacks {needle:?}:\n{}", run.stderr);
        assert_eq!(work_entries(&gw), before, "{args:?} left something behind");
    }
    assert_eq!(std::fs::read_to_string(gw.work().join("taken/keep.txt")).unwrap(), "mine");
}

#[test]
fn force_writes_into_an_existing_directory_and_keeps_other_files() {
    let gw = Gw::new();
    let dir = gw.work().join("existing");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("notes.md"), "keep").unwrap();
    std::fs::write(dir.join("src/lib.rs"), "old").unwrap();
    gw.run(&["init", "existing", "--accept-defaults", "--force"]).ok();
    assert_eq!(std::fs::read_to_string(dir.join("notes.md")).unwrap(), "keep");
    assert!(std::fs::read_to_string(dir.join("src/lib.rs")).unwrap().contains("proxy_wasm"));
    assert!(dir.join("gw.toml").is_file());
}

#[test]
fn templates_lists_ids_kinds_and_parameters() {
    let gw = Gw::new();
    let text = gw.run(&["templates"]);
    let first_line = text.ok().stdout.lines().next().unwrap_or_default().to_string();
    assert!(first_line.starts_with("* http-filter ") && first_line.contains(" proxy-wasm "), "{}", text.stdout);
    assert!(text.stdout.contains("-d header=…"));
    let json: serde_json::Value = serde_json::from_str(&gw.run(&["templates", "--json"]).stdout).unwrap();
    let first = &json[0];
    assert_eq!(first["id"], "http-filter");
    assert_eq!(first["default"], true);
    assert_eq!(first["parameters"][0]["name"], "header");
    let defaults: Vec<&str> =
        json.as_array().unwrap().iter().filter(|t| t["default"] == true).map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(defaults, ["http-filter", "xdp"], "one default per kind");
    assert!(text.stdout.contains("* xdp "), "{}", text.stdout);

    // `-t ebpf` and `-t proxy-wasm` name the default of that kind.
    gw.run(&["init", "probe", "-t", "ebpf", "--accept-defaults"]).ok();
    let manifest = std::fs::read_to_string(gw.work().join("probe/gw.toml")).unwrap();
    assert!(manifest.contains("template = \"xdp\"") && !manifest.contains("[topology"), "{manifest}");
    gw.run(&["init", "gate", "-t", "proxy-wasm", "--accept-defaults"]).ok();
    let manifest = std::fs::read_to_string(gw.work().join("gate/gw.toml")).unwrap();
    assert!(
        manifest.contains("template = \"http-filter\"") && manifest.contains("[[topology.services]]"),
        "{manifest}"
    );
}

#[test]
fn the_wizard_asks_on_a_terminal() {
    let gw = Gw::new();
    let mut command = gw.tty_command(&["init"]);
    command.env("TERM", "xterm").env_remove("NO_COLOR");
    let mut session = rexpect::session::spawn_with_options(
        command,
        rexpect::reader::Options::new().timeout_ms(Some(20_000)).strip_ansi_escape_codes(true),
    )
    .expect("gw starts on a pseudo-terminal");
    session.exp_string("Template").unwrap();
    session.send_line("").unwrap(); // the default, http-filter
    session.exp_string("Project name").unwrap();
    session.send_line("Not-Valid").unwrap();
    session.exp_string("must start with a lower-case letter").unwrap();
    // Clear the refused text, then type a good name.
    for _ in 0.."Not-Valid".len() {
        session.send("\x7f").unwrap();
    }
    session.send_line("wizard-demo").unwrap();
    session.exp_string("Response header the filter adds").unwrap();
    session.send_line("").unwrap();
    session.exp_string("Its value").unwrap();
    session.send_line("ok").unwrap();
    session.exp_string("created wizard-demo from template http-filter").unwrap();
    session.exp_eof().unwrap();
    let root: PathBuf = gw.work().join("wizard-demo");
    let config = std::fs::read_to_string(root.join("src/config.rs")).unwrap();
    assert!(config.contains("\"x-gw-filter\"") && config.contains("\"ok\""), "{config}");
}

#[test]
fn a_generated_filter_passes_its_own_unit_tests_natively() {
    // The logic of proxy-wasm templates lives in plain modules; the local
    // toolchain's `gw test` runs them with the host's cargo.
    let gw = Gw::new();
    gw.run(&["init", "native", "--accept-defaults"]).ok();
    // Only the unit tests: scenarios need the .wasm, which the host's cargo may not be able to build.
    std::fs::remove_dir_all(gw.work().join("native/scenarios")).unwrap();
    let run: common::gw::Run =
        gw.command(&["test", "--toolchain", "local"]).current_dir(gw.work().join("native")).output().unwrap().into();
    run.ok();
    assert!(
        run.stdout.contains("test result: ok. 3 passed") || run.stderr.contains("test result: ok. 3 passed"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}
