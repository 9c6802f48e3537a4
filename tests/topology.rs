//! `gw run` in a project, `gw render`: the topology from gw.toml, checked
//! against Envoy's schema, run as a fleet of Envoy doubles (they check their
//! configs with the same schema) with echo upstreams; stopped in order,
//! nothing left behind; `--watch` swaps a rebuilt filter in.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::gw::{Gw, Run};
use common::running::{Running, alive};
use common::{envoy_double_path, wait_until};

/// gw with the double as Envoy 1.36.2, and a project whose module is built
/// already (a placeholder newer than its sources, so `gw run` builds nothing).
fn setup(topology: &str) -> (Gw, PathBuf) {
    setup_with(topology, "")
}

/// As [`setup`], with shell lines run before the double (they may change its arguments).
fn setup_with(topology: &str, before: &str) -> (Gw, PathBuf) {
    let gw = gw_with_double(before);
    let root = gw.work().join("shop");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("scenarios")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"shop-filter\"\nversion = \"0.1.0\"\n").unwrap();
    std::fs::write(root.join("src/lib.rs"), "").unwrap();
    std::fs::write(root.join("scenarios/a.yaml"), "plugin_config: \"admin:secret\\n\"\ncases: []\n").unwrap();
    let manifest = format!(
        "[project]\nname = \"shop\"\nkind = \"proxy-wasm\"\ntemplate = \"http-filter\"\n\n\
         [envoy]\nbuild = \"1.36.2\"\n{topology}"
    );
    std::fs::write(root.join("gw.toml"), manifest).unwrap();
    let wasm = root.join("target/gw/shop_filter.wasm");
    std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
    std::fs::write(&wasm, b"\0asm\x01\0\0\0").unwrap();
    let later = SystemTime::now() + Duration::from_secs(60);
    std::fs::File::options().write(true).open(&wasm).unwrap().set_modified(later).unwrap();
    (gw, root)
}

/// gw whose Envoy 1.36.2 is the double, run by a script that first runs `before`.
fn gw_with_double(before: &str) -> Gw {
    let gw = Gw::new();
    let script = format!("#!/bin/sh\n{before}exec '{}' \"$@\"\n", envoy_double_path().display());
    gw.publish_envoy("1.36.2", script.as_bytes());
    gw
}

fn gw_in(gw: &Gw, dir: &Path, args: &[&str]) -> Run {
    gw.command(args).current_dir(dir).output().unwrap().into()
}

fn start(gw: &Gw, root: &Path, args: &[&str]) -> Running {
    let mut command = gw.command(args);
    command.current_dir(root);
    Running::spawn(command)
}

/// The pids of the Envoys gw reported starting, by name.
fn envoy_pids(run: &mut Running, names: &[&str]) -> Vec<(String, i32)> {
    names
        .iter()
        .map(|name| {
            let line = run.expect(&format!("{name} started (pid "));
            let pid = line.split("(pid ").nth(1).unwrap().split(')').next().unwrap().parse().unwrap();
            (name.to_string(), pid)
        })
        .collect()
}

/// The newest topology run directory.
fn run_dir(gw: &Gw) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(gw.home().join("runs")).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs.pop().expect("a run directory")
}

#[test]
fn the_default_topology_comes_up_and_ctrl_c_stops_all_of_it() {
    let (gw, root) = setup("");
    let mut run = start(&gw, &root, &["run"]);
    let pids = envoy_pids(&mut run, &["service-1", "service-2", "front"]);
    run.expect("service-1 is ready");
    run.expect("service-2 is ready");
    run.expect("front is ready");
    run.expect("http://127.0.0.1:");
    let url = run.expect("/service/2  → service-2");
    assert!(url.trim().starts_with("http://127.0.0.1:"), "{url}");
    // The front double loaded its listener, with the project's module staged in the run.
    let loaded = run.expect("lds: add/update listener 'front' wasm ");
    assert!(loaded.contains("/modules/shop_filter-"), "{loaded}");

    // The echo upstream behind service-1 answers with the request it got, as JSON.
    let dir = run_dir(&gw);
    let service = std::fs::read_to_string(dir.join("config/service-1.yaml")).unwrap();
    let upstream_port = service
        .split_once("- name: upstream")
        .and_then(|(_, rest)| rest.split("port_value: ").nth(1))
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no upstream port in:\n{service}"))
        .trim()
        .to_string();
    let echoed: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{upstream_port}/service/1/items"))
        .header("x-auth-user", "admin")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(echoed["service"], "service-1");
    assert_eq!(echoed["path"], "/service/1/items");

    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{output}");
    for (name, pid) in &pids {
        assert!(!alive(*pid), "{name} (pid {pid}) is still running");
        assert!(dir.join(format!("{name}.tar.gz")).is_file(), "a bundle for {name}\n{output}");
    }
    // The front stopped first: it routes to the services.
    let order: Vec<usize> = ["to front", "to service-1", "to service-2"]
        .iter()
        .map(|n| output.find(&format!("forwarded SIGTERM {n}")).unwrap_or_else(|| panic!("{n}\n{output}")))
        .collect();
    assert!(order[0] < order[1] && order[0] < order[2], "{output}");
}

#[test]
fn a_killed_gw_leaves_no_envoy_running() {
    let (gw, root) = setup("");
    let mut run = start(&gw, &root, &["run"]);
    let pids = envoy_pids(&mut run, &["service-1", "service-2", "front"]);
    run.expect("front is ready");
    run.signal(libc::SIGKILL);
    let _ = run.wait();
    for (name, pid) in pids {
        assert!(wait_until(Duration::from_secs(5), || !alive(pid)), "{name} (pid {pid}) outlived gw");
    }
}

#[test]
fn a_custom_topology_with_several_services_and_an_outside_upstream() {
    let outside = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let topology = format!(
        "\n[[topology.front.filters]]\nwasm = \"project\"\nconfig = \"user:pw\"\n\n\
         [[topology.routes]]\nprefix = \"/users\"\nservice = \"users\"\n\
         [[topology.routes]]\nprefix = \"/\"\nservice = \"legacy\"\n\n\
         [[topology.services]]\nname = \"users\"\n[[topology.services.filters]]\nwasm = \"project\"\nname = \"tagger\"\n\n\
         [[topology.services]]\nname = \"legacy\"\nupstream = \"127.0.0.1:{}\"\n",
        outside.local_addr().unwrap().port()
    );
    let (gw, root) = setup(&topology);
    let mut run = start(&gw, &root, &["run"]);
    envoy_pids(&mut run, &["users", "legacy", "front"]);
    run.expect("front is ready");
    run.expect("/users  → users");
    let dir = run_dir(&gw);
    let front = std::fs::read_to_string(dir.join("config/front-listeners.yaml")).unwrap();
    assert!(front.contains("value: user:pw"), "the filter's config from gw.toml:\n{front}");
    let users = std::fs::read_to_string(dir.join("config/users-listeners.yaml")).unwrap();
    assert!(
        users.contains("name: tagger") && users.contains("value: |\n") || users.contains("admin:secret"),
        "{users}"
    );
    run.signal(libc::SIGTERM);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{output}");
}

#[test]
fn a_bad_topology_is_refused_before_any_process_starts() {
    let (gw, root) =
        setup("\n[[topology.routes]]\nprefix = \"/a\"\nservice = \"nope\"\n[[topology.services]]\nname = \"a\"\n");
    let run = gw_in(&gw, &root, &["run"]);
    run.fails_with(2, "routes[0].service = \"nope\" is not a service");
    assert!(!run.stderr.contains("started (pid"), "{}", run.stderr);
    assert!(!gw.home().join("runs").exists(), "no run directory was made");

    let (gw, root) = setup("\n[topology.front]\nprot = 8080\n");
    gw_in(&gw, &root, &["run"]).fails_with(2, "unknown field `prot`");
}

#[test]
fn an_envoy_without_wasm_is_refused_with_the_reason() {
    let (gw, root) = setup("");
    let run = gw_in(&gw, &root, &["run", "--envoy", "standard:1.15.0"]);
    run.fails_with(2, "has no wasm filter");
    assert!(run.stderr.contains("--envoy standard:1.36"), "{}", run.stderr);
}

#[test]
fn an_envoy_that_exits_stops_the_others_and_says_which() {
    // service-2's Envoy exits by itself with code 3 after a second.
    let script =
        "case \"$*\" in *service-2.yaml*) set -- \"$@\" --double-exit-after-ms 1000 --double-exit-code 3;; esac\n";
    let (gw, root) = setup_with("", script);
    let mut run = start(&gw, &root, &["run"]);
    let pids = envoy_pids(&mut run, &["service-1", "service-2", "front"]);
    let (code, output) = run.wait();
    assert_eq!(code, 3, "service-2's exit code becomes gw's\n{output}");
    assert!(output.contains("service-2 exited by itself (code 3)"), "{output}");
    for (name, pid) in pids {
        assert!(!alive(pid), "{name} (pid {pid}) is still running\n{output}");
    }
}

#[test]
fn render_writes_checked_configs() {
    let (gw, root) = setup("");
    let out = gw.work().join("rendered");
    let run = gw_in(&gw, &root, &["render", "--out", out.to_str().unwrap()]);
    run.ok();
    let mut files = common::gw::list(&out);
    files.sort();
    assert_eq!(files, ["front.yaml", "service-1.yaml", "service-2.yaml"]);
    let front = std::fs::read_to_string(out.join("front.yaml")).unwrap();
    assert!(front.contains(&root.join("target/gw/shop_filter.wasm").display().to_string()), "{front}");
    assert!(front.contains("value: |\n") || front.contains("admin:secret"), "the first scenario's config:\n{front}");
    // What gw render writes, gw validate accepts.
    let paths: Vec<String> = files.iter().map(|f| out.join(f).display().to_string()).collect();
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    gw_in(&gw, &root, &args).ok();
}

#[test]
fn watch_swaps_a_rebuilt_filter_in_and_keeps_the_old_one_when_a_build_fails() {
    let Some(_docker) = common::docker::require() else { return };
    let gw = gw_with_double("");
    let (_tmp, root) = common::docker::fixture("wasm-filter");
    let manifest = root.join("gw.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n[envoy]\nbuild = \"1.36.2\"\n")).unwrap();
    let build = Duration::from_secs(300);

    let mut run = start(&gw, &root, &["run", "--watch"]);
    run.expect_after(0, "front is ready", build);
    let first = run.expect("lds: add/update listener 'front' wasm ");

    // A build that fails: the front keeps the filter it has.
    let source = root.join("src/config.rs");
    let good = std::fs::read_to_string(&source).unwrap();
    let mark = run.mark();
    std::fs::write(&source, format!("{good}\nfn broken( {{\n")).unwrap();
    run.expect_after(mark, "rebuild failed; still running the previous filter", build);

    // A build that works: the new module, under a new name, in the running front.
    let mark = run.mark();
    std::fs::write(&source, good.replace("\"seen\"", "\"seen again\"")).unwrap();
    let reloaded = run.expect_after(mark, "rebuilt; the front now runs", build);
    let second = run.expect_after(mark, "lds: add/update listener 'front' wasm ", Duration::from_secs(10));
    assert_ne!(first, second, "a different module is live");
    let module = reloaded.rsplit(' ').next().unwrap();
    assert!(second.contains(module), "the front runs what gw built: {second} / {reloaded}");

    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{output}");
}

#[test]
fn watch_keeps_serving_when_a_rebuild_fails() {
    let (gw, root) = setup("");
    // The placeholder crate cannot build to a filter with any toolchain (no cdylib).
    let mut run = start(&gw, &root, &["run", "--watch", "--toolchain", "local"]);
    run.expect("front is ready");
    let mark = run.mark();
    std::fs::write(root.join("src/lib.rs"), "pub fn changed() {}\n").unwrap();
    run.expect_after(mark, "rebuild failed; still running the previous filter", Duration::from_secs(120));
    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "the topology kept running until Ctrl-C\n{output}");
}

/// Against a real Envoy, when `GW_E2E_ENVOY` names its binary (none can be fetched where gw's CI
/// runs): the fixture filter, built in Docker, in the front of the default topology.
#[test]
fn end_to_end_with_a_real_envoy() {
    let Ok(envoy) = std::env::var("GW_E2E_ENVOY") else {
        eprintln!("skipping: GW_E2E_ENVOY does not name an Envoy binary");
        return;
    };
    let Some(_docker) = common::docker::require() else { return };
    let gw = Gw::new();
    gw.publish_envoy("1.36.2", format!("#!/bin/sh\nexec '{envoy}' \"$@\"\n").as_bytes());
    let (_tmp, root) = common::docker::fixture("wasm-filter");
    let manifest = root.join("gw.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n[envoy]\nbuild = \"1.36.2\"\n")).unwrap();

    let mut run = start(&gw, &root, &["run"]);
    run.expect_after(0, "ready; try:", Duration::from_secs(600));
    let line = run.expect("/service/1  → service-1");
    let url = line.split_whitespace().next().unwrap().to_string();
    let client = reqwest::blocking::Client::new();
    let refused = client.get(&url).send().unwrap();
    assert_eq!(refused.status(), 401, "the filter refuses a request without authorization");
    let passed = client.get(&url).header("authorization", "Bearer x").send().unwrap();
    assert_eq!(passed.status(), 200);
    assert_eq!(passed.headers()["x-filter"], "seen", "the filter tagged the response");
    let echoed: serde_json::Value = passed.json().unwrap();
    assert_eq!(echoed["service"], "service-1");
    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{output}");
}
