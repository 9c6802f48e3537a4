//! `gw run` in a project, `gw render`: the topology from gw.toml, run on real
//! Envoys (1.36 and 1.40 from the package index) with echo upstreams; "ready"
//! means every listener serves; a listener Envoy refuses stops the run and
//! says why; stopped in order, nothing left behind; `--watch` swaps a rebuilt
//! filter in while traffic flows. The Envoy double stands in only where an
//! Envoy must exit on demand.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use common::envoy::{RealEnvoy, wat_module};
use common::gw::{Gw, Run};
use common::jwt::Signer;
use common::running::{Running, alive};
use common::{Reply, TestServer, envoy_double_path, wait_until};

/// A project whose module is built already (newer than its sources, so `gw run` builds
/// nothing): tests/wasm/filter.wat, a hand-written proxy-wasm filter (Basic auth with
/// admin:secret, `x-filter: seen` on responses, a configuration of "reject" refused).
fn project(gw: &Gw, envoy_version: &str, topology: &str) -> PathBuf {
    let root = gw.work().join("shop");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("scenarios")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"shop-filter\"\nversion = \"0.1.0\"\n").unwrap();
    std::fs::write(root.join("src/lib.rs"), "").unwrap();
    std::fs::write(root.join("scenarios/a.yaml"), "plugin_config: \"admin:secret\\n\"\ncases: [{name: a}]\n").unwrap();
    let manifest = format!(
        "[project]\nname = \"shop\"\nkind = \"proxy-wasm\"\ntemplate = \"http-filter\"\n\n\
         [envoy]\nbuild = \"{envoy_version}\"\n{topology}"
    );
    std::fs::write(root.join("gw.toml"), manifest).unwrap();
    let wasm = root.join("target/gw/shop_filter.wasm");
    wat_module("filter", &wasm);
    let later = SystemTime::now() + Duration::from_secs(60);
    std::fs::File::options().write(true).open(&wasm).unwrap().set_modified(later).unwrap();
    root
}

/// gw whose index serves `envoy`, and the project.
fn on_real(envoy: &RealEnvoy, topology: &str) -> (Gw, PathBuf) {
    let gw = Gw::new();
    gw.publish_real_envoy(envoy);
    let root = project(&gw, &envoy.version, topology);
    (gw, root)
}

/// gw whose Envoy 1.36.2 is the double, run by a script that first runs `before`.
fn on_double(topology: &str, before: &str) -> (Gw, PathBuf) {
    let gw = Gw::new();
    let script = format!("#!/bin/sh\n{before}exec '{}' \"$@\"\n", envoy_double_path().display());
    gw.publish_envoy("1.36.2", script.as_bytes());
    let root = project(&gw, "1.36.2", topology);
    (gw, root)
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

/// The URL gw printed for a route, e.g. `http://127.0.0.1:40000/service/1`.
fn url_of(run: &mut Running, route: &str) -> String {
    let line = run.expect(&format!("{route}  → "));
    line.split_whitespace().next().unwrap().to_string()
}

/// The newest topology run directory.
fn run_dir(gw: &Gw) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(gw.home().join("runs")).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs.pop().expect("a run directory")
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

const ADMIN: &str = "Basic YWRtaW46c2VjcmV0"; // admin:secret

#[test]
fn the_default_topology_serves_through_real_envoys_and_ctrl_c_stops_all_of_it() {
    for envoy in common::envoy::all() {
        let (gw, root) = on_real(&envoy, "");
        let mut run = start(&gw, &root, &["run"]);
        let pids = envoy_pids(&mut run, &["service-1", "service-2", "front"]);
        run.expect("ready; try:");
        let url = url_of(&mut run, "/service/2");
        run.expect("the front's filter metrics: http://127.0.0.1:");

        // The filter runs in the front: no credentials, a 401 from it; with them, the
        // request goes front → service-2's Envoy → its echo upstream.
        let refused = client().get(&url).send().unwrap();
        assert_eq!(refused.status(), 401, "{}", envoy.version);
        assert_eq!(refused.headers()["x-filter"], "seen");
        let passed = client().get(format!("{url}/items")).header("authorization", ADMIN).send().unwrap();
        assert_eq!(passed.status(), 200, "{}", envoy.version);
        assert_eq!(passed.headers()["x-filter"], "seen");
        let echoed: serde_json::Value = passed.json().unwrap();
        assert_eq!(echoed["service"], "service-2");
        assert_eq!(echoed["path"], "/service/2/items");
        let headers = echoed["headers"].to_string();
        assert!(headers.contains("x-auth-user") && !headers.contains("authorization"), "{headers}");

        run.signal(libc::SIGINT);
        let (code, output) = run.wait();
        assert_eq!(code, 0, "{output}");
        let dir = run_dir(&gw);
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
}

#[test]
fn a_killed_gw_leaves_no_envoy_running() {
    for envoy in common::envoy::all() {
        let (gw, root) = on_real(&envoy, "");
        let mut run = start(&gw, &root, &["run"]);
        let pids = envoy_pids(&mut run, &["service-1", "service-2", "front"]);
        run.expect("ready; try:");
        run.signal(libc::SIGKILL);
        let _ = run.wait();
        for (name, pid) in pids {
            assert!(wait_until(Duration::from_secs(5), || !alive(pid)), "{name} (pid {pid}) outlived gw");
        }
    }
}

#[test]
fn a_custom_topology_routes_to_several_services_and_an_outside_upstream() {
    let outside = TestServer::start();
    outside.route("/legacy/page", Reply::ok("from the legacy upstream\n"));
    // No filter on the front; the users service's Envoy runs the project's filter.
    let topology = format!(
        "\n[topology.front]\nfilters = []\n\n\
         [[topology.routes]]\nprefix = \"/users\"\nservice = \"users\"\n\
         [[topology.routes]]\nprefix = \"/\"\nservice = \"legacy\"\n\n\
         [[topology.services]]\nname = \"users\"\n[[topology.services.filters]]\nwasm = \"project\"\nname = \"tagger\"\nconfig = \"user:pw\"\n\n\
         [[topology.services]]\nname = \"legacy\"\nupstream = \"127.0.0.1:{}\"\n",
        outside.addr().port()
    );
    for envoy in common::envoy::all() {
        let (gw, root) = on_real(&envoy, &topology);
        let mut run = start(&gw, &root, &["run"]);
        envoy_pids(&mut run, &["users", "legacy", "front"]);
        run.expect("ready; try:");
        let users = url_of(&mut run, "/users");
        let front = users.trim_end_matches("/users").to_string();
        let dir = run_dir(&gw);
        let listeners = std::fs::read_to_string(dir.join("config/users-listeners.yaml")).unwrap();
        assert!(listeners.contains("value: \"user:pw\""), "the filter's config from gw.toml:\n{listeners}");
        assert!(listeners.contains("name: tagger"), "{listeners}");

        // The users Envoy's filter refuses, then passes, what the front let through.
        let refused = client().get(format!("{users}/42")).send().unwrap();
        assert_eq!((refused.status().as_u16(), refused.headers()["x-filter"].to_str().unwrap()), (401, "seen"));
        let answer = client().get(format!("{users}/42")).header("authorization", ADMIN).send().unwrap();
        assert_eq!(answer.status(), 200, "{}", envoy.version);
        let echoed: serde_json::Value = answer.json().unwrap();
        assert_eq!((echoed["service"].as_str(), echoed["path"].as_str()), (Some("users"), Some("/users/42")));
        // Everything else goes to the outside upstream, through the legacy Envoy: no filter there.
        let before = outside.hits("/legacy/page");
        let legacy = client().get(format!("{front}/legacy/page")).send().unwrap();
        assert_eq!(legacy.status(), 200);
        assert!(legacy.headers().get("x-filter").is_none(), "no filter on that path");
        assert_eq!(legacy.text().unwrap(), "from the legacy upstream\n");
        assert_eq!(outside.hits("/legacy/page"), before + 1);

        run.signal(libc::SIGTERM);
        let (code, output) = run.wait();
        assert_eq!(code, 0, "{output}");
    }
}

#[test]
fn a_listener_envoy_refuses_stops_the_run_and_says_why() {
    let topology = "\n[[topology.front.filters]]\nwasm = \"project\"\nconfig = \"reject\"\n";
    for envoy in common::envoy::all() {
        let (gw, root) = on_real(&envoy, topology);
        let mut run = start(&gw, &root, &["run"]);
        let pids = envoy_pids(&mut run, &["service-1", "service-2", "front"]);
        let (code, output) = run.wait();
        assert_eq!(code, 1, "{}: {output}", envoy.version);
        assert!(!output.contains("ready; try:"), "{output}");
        assert!(
            output.contains("error: Envoy 'front' refused its listener: Unable to create Wasm plugin shop"),
            "{output}"
        );
        assert!(output.contains("front | [error][wasm]") || output.contains("front | [critical][wasm]"), "{output}");
        assert!(
            output.contains("front | [warning][config] Filesystem config update rejected"),
            "Envoy's own:\n{output}"
        );
        assert!(
            output
                .contains("the filter 'shop' takes its configuration from gw.toml [topology] front.filters[0].config"),
            "{output}"
        );
        for (name, pid) in pids {
            assert!(!alive(pid), "{name} (pid {pid}) is still running\n{output}");
        }
    }
}

#[test]
fn watch_keeps_serving_when_a_rebuild_fails() {
    let Some(envoy) = common::envoy::real("1.40") else { return };
    let (gw, root) = on_real(&envoy, "");
    // The placeholder crate cannot build to a filter with any toolchain (no cdylib).
    let mut run = start(&gw, &root, &["run", "--watch", "--toolchain", "local"]);
    run.expect("ready; try:");
    let url = url_of(&mut run, "/service/1");
    let mark = run.mark();
    std::fs::write(root.join("src/lib.rs"), "pub fn changed() {}\n").unwrap();
    run.expect_after(mark, "rebuild failed; still running the previous filter", Duration::from_secs(120));
    let still = client().get(&url).send().unwrap();
    assert_eq!((still.status().as_u16(), &still.headers()["x-filter"]), (401, &"seen".parse().unwrap()));
    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "the topology kept running until Ctrl-C\n{output}");
}

/// Requests sent one after another on loopback until stopped; each must get a 200.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    /// What went wrong with the requests that failed.
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl Load {
    fn start(url: &str) -> Load {
        let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let (url, flags) = (url.to_string(), (Arc::clone(&stop), Arc::clone(&sent)));
        let thread = std::thread::spawn(move || {
            let (stop, sent) = flags;
            let client = client();
            let mut problems = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                sent.fetch_add(1, Ordering::SeqCst);
                match client.get(&url).header("authorization", "Bearer x").send() {
                    Ok(answer) if answer.status() == 200 => {}
                    Ok(answer) => problems.push(format!("status {}", answer.status())),
                    Err(e) => problems.push(e.to_string()),
                }
            }
            problems
        });
        Load { stop, sent, thread }
    }

    /// Stops; (requests sent, the failures).
    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let problems = self.thread.join().unwrap();
        (self.sent.load(Ordering::SeqCst), problems)
    }
}

fn filter_header(url: &str) -> String {
    let answer = client().get(url).header("authorization", "Bearer x").send().unwrap();
    answer.headers().get("x-filter").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[test]
fn watch_swaps_rebuilt_filters_in_while_traffic_flows() {
    let Some(_docker) = common::docker::require() else { return };
    let envoys = common::envoy::all();
    let (_tmp, root) = common::docker::fixture("wasm-filter");
    let manifest = root.join("gw.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let build = Duration::from_secs(600);
    let source = root.join("src/config.rs");
    let lib = root.join("src/lib.rs");
    let (good_config, good_lib) = (std::fs::read_to_string(&source).unwrap(), std::fs::read_to_string(&lib).unwrap());

    for (n, envoy) in envoys.iter().enumerate() {
        let gw = Gw::new();
        gw.publish_real_envoy(envoy);
        std::fs::write(&manifest, format!("{text}\n[envoy]\nbuild = \"{}\"\n", envoy.version)).unwrap();
        std::fs::write(&source, &good_config).unwrap();
        std::fs::write(&lib, &good_lib).unwrap();
        let mut run = start(&gw, &root, &["run", "--watch"]);
        run.expect_after(0, "ready; try:", build);
        let url = url_of(&mut run, "/service/1");
        assert_eq!(filter_header(&url), "seen");
        let load = Load::start(&url);

        if n == 0 {
            // A build that fails: the front keeps the filter it has.
            let mark = run.mark();
            std::fs::write(&source, format!("{good_config}\nfn broken( {{\n")).unwrap();
            run.expect_after(mark, "rebuild failed; still running the previous filter", build);
        }

        // A build that works: the new module is live, and no request failed across the swap.
        let mark = run.mark();
        std::fs::write(&source, good_config.replace("\"seen\"", "\"seen again\"")).unwrap();
        let reloaded = run.expect_after(mark, "rebuilt; the front now runs", build);
        assert!(reloaded.contains("/modules/wasm_filter-"), "{reloaded}");
        assert_eq!(filter_header(&url), "seen again", "{}", envoy.version);

        if n == 0 {
            // A filter Envoy refuses to configure: reported, and the previous one keeps serving.
            let mark = run.mark();
            let start = "fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {";
            let refusing = good_lib.replace(
                start,
                &format!("{start}\n        if true {{\n            log::error!(\"wasm-filter: refusing on purpose\");\n            return false;\n        }}"),
            );
            assert_ne!(refusing, good_lib, "the fixture's on_configure changed; update this test");
            std::fs::write(&lib, refusing).unwrap();
            let refused =
                run.expect_after(mark, "refused the rebuilt filter and keeps serving the previous one", build);
            assert!(refused.contains("Envoy 'front'"), "{refused}");
            run.expect_after(mark, "refusing on purpose", Duration::from_secs(10));
            assert_eq!(filter_header(&url), "seen again");
        }

        std::thread::sleep(Duration::from_millis(500));
        let (sent, failed) = load.finish();
        assert!(sent > 50, "the load ran across the swap: {sent} requests");
        assert!(
            failed.is_empty(),
            "{} of {sent} requests failed across the swap: {:?}",
            failed.len(),
            &failed[..failed.len().min(5)]
        );

        run.signal(libc::SIGINT);
        let (code, output) = run.wait();
        assert_eq!(code, 0, "{output}");
    }
}

#[test]
fn an_envoy_that_exits_stops_the_others_and_says_which() {
    // A real Envoy cannot be made to exit by itself on demand: the double stands in.
    // service-2's Envoy exits by itself with code 3 after a second.
    let script =
        "case \"$*\" in *service-2.yaml*) set -- \"$@\" --double-exit-after-ms 1000 --double-exit-code 3;; esac\n";
    let (gw, root) = on_double("", script);
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
fn a_bad_topology_is_refused_before_any_process_starts() {
    let (gw, root) = on_double(
        "\n[[topology.routes]]\nprefix = \"/a\"\nservice = \"nope\"\n[[topology.services]]\nname = \"a\"\n",
        "",
    );
    let run = gw_in(&gw, &root, &["run"]);
    run.fails_with(2, "routes[0].service = \"nope\" is not a service");
    assert!(!run.stderr.contains("started (pid"), "{}", run.stderr);
    assert!(!gw.home().join("runs").exists(), "no run directory was made");

    let (gw, root) = on_double("\n[topology.front]\nprot = 8080\n", "");
    gw_in(&gw, &root, &["run"]).fails_with(2, "unknown field `prot`");

    // [topology.ebpf] naming no eBPF project: refused before anything is built or made.
    let (gw, root) = on_double("\n[topology.ebpf]\nproject = \"../firewall\"\n", "");
    let run = gw_in(&gw, &root, &["run"]);
    run.fails_with(2, "[topology.ebpf] project = \"../firewall\"");
    assert!(run.stderr.contains("holds no gw.toml"), "{}", run.stderr);
    std::fs::create_dir_all(root.join("../firewall")).unwrap();
    std::fs::copy(root.join("gw.toml"), root.join("../firewall/gw.toml")).unwrap();
    gw_in(&gw, &root, &["run"]).fails_with(2, "is not an eBPF project");
    assert!(!gw.home().join("labs").exists(), "no lab was made");
}

#[test]
fn an_envoy_without_wasm_is_refused_with_the_reason() {
    let (gw, root) = on_double("", "");
    let run = gw_in(&gw, &root, &["run", "--envoy", "standard:1.15.0"]);
    run.fails_with(2, "has no wasm filter");
    assert!(run.stderr.contains("--envoy standard:1.36"), "{}", run.stderr);
}

#[test]
fn render_writes_checked_configs() {
    let (gw, root) = on_double("", "");
    let out = gw.work().join("rendered");
    let run = gw_in(&gw, &root, &["render", "--out", out.to_str().unwrap()]);
    run.ok();
    let mut files = common::gw::list(&out);
    files.sort();
    assert_eq!(files, ["front.yaml", "service-1.yaml", "service-2.yaml"]);
    let front = std::fs::read_to_string(out.join("front.yaml")).unwrap();
    assert!(front.contains(&root.join("target/gw/shop_filter.wasm").display().to_string()), "{front}");
    assert!(front.contains("admin:secret"), "the first scenario's config:\n{front}");
    // What gw render writes, gw validate accepts.
    let paths: Vec<String> = files.iter().map(|f| out.join(f).display().to_string()).collect();
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    gw_in(&gw, &root, &args).ok();
}

#[test]
fn rendered_topologies_are_accepted_by_real_envoys() {
    let custom = "\n[topology.front]\nfilters = []\n\n\
         [[topology.routes]]\nprefix = \"/users\"\nservice = \"users\"\n\
         [[topology.routes]]\nprefix = \"/\"\nservice = \"legacy\"\n\n\
         [[topology.services]]\nname = \"users\"\n[[topology.services.filters]]\nwasm = \"project\"\nname = \"tagger\"\nconfig = \"user:pw\"\n\n\
         [[topology.services]]\nname = \"legacy\"\nupstream = \"127.0.0.1:9\"\n";
    for envoy in common::envoy::all() {
        for topology in ["", custom] {
            let (gw, root) = on_real(&envoy, topology);
            let out = gw.work().join("rendered");
            gw_in(&gw, &root, &["render", "--out", out.to_str().unwrap()]).ok();
            let mut files: Vec<String> =
                common::gw::list(&out).iter().map(|f| out.join(f).display().to_string()).collect();
            files.sort();
            let mut args = vec!["validate", "--envoy", &envoy.version];
            args.extend(files.iter().map(String::as_str));
            let run = gw_in(&gw, &root, &args);
            run.ok();
            let expected: Vec<String> = files.iter().map(|f| format!("{f}: ok")).collect();
            assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected, "Envoy {}:\n{}", envoy.version, run.stderr);
        }
    }
}

#[test]
fn gateway_policies_rate_limit_and_edit_headers_on_real_envoys() {
    let topology = "\n[topology.front]\nfilters = []\n\
         [topology.front.rate_limit]\nrequests = 2\nper = \"60s\"\n\n\
         [[topology.routes]]\nprefix = \"/api\"\nservice = \"api\"\ntimeout = \"5s\"\n\
         retries = { on = \"5xx,reset\", attempts = 2, per_try_timeout = \"1s\" }\n\
         headers = { request_add = { x-gw = \"1\" }, request_remove = [\"x-drop\"], response_add = { x-gw-route = \"api\" }, response_remove = [\"content-type\"] }\n\n\
         [[topology.routes]]\nprefix = \"/open\"\nservice = \"api\"\nrate_limit = { requests = 100, per = \"1s\" }\n\n\
         [[topology.services]]\nname = \"api\"\n";
    for envoy in common::envoy::all() {
        let at = format!("Envoy {}", envoy.version);
        let (gw, root) = on_real(&envoy, topology);
        let mut run = start(&gw, &root, &["run", "--access-log"]);
        run.expect("ready; try:");
        let api = url_of(&mut run, "/api");
        let open = url_of(&mut run, "/open");
        let mark = run.mark();
        let header = |r: &reqwest::blocking::Response, name: &str| {
            r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
        };
        for remaining in ["1", "0"] {
            let answer = client().get(&api).header("x-drop", "secret").send().unwrap();
            assert_eq!(answer.status(), 200, "{at}");
            // Envoy's local rate limit gives the bucket's size (its global one adds ";w=").
            assert_eq!(header(&answer, "x-ratelimit-limit"), "2", "{at}");
            assert_eq!(header(&answer, "x-ratelimit-remaining"), remaining, "{at}");
            assert_eq!(header(&answer, "x-gw-route"), "api", "{at}");
            assert!(answer.headers().get("content-type").is_none(), "{at}: the route removes it");
            assert!(answer.headers().get("x-envoy-ratelimited").is_none(), "{at}: only on 429s");
            let echoed: serde_json::Value = answer.json().unwrap();
            let headers = echoed["headers"].to_string();
            assert!(headers.contains(r#"["x-gw","1"]"#) && !headers.contains("x-drop"), "{at}: {headers}");
        }
        let limited = client().get(&api).send().unwrap();
        assert_eq!(limited.status(), 429, "{at}");
        assert_eq!(header(&limited, "x-envoy-ratelimited"), "true", "{at}");
        assert_eq!(header(&limited, "x-ratelimit-remaining"), "0", "{at}");
        assert_eq!(header(&limited, "x-ratelimit-limit"), "2", "{at}");
        assert!(!header(&limited, "x-ratelimit-reset").is_empty(), "{at}");
        // A route with a limit of its own is not held by the front's.
        let own = client().get(&open).send().unwrap();
        assert_eq!(own.status(), 200, "{at}");
        assert_eq!(header(&own, "x-ratelimit-limit"), "100", "{at}");

        // Each Envoy writes a JSON line per request into its run directory, flushed while it runs.
        let access_log = run_dir(&gw).join("front/access.log");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let count = || std::fs::read_to_string(&access_log).map(|l| l.lines().count()).unwrap_or(0);
        while count() < 4 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(count(), 4, "{at}: the front's access log while it runs");
        // --access-log shows them as they come, and the service Envoy's too.
        let shown = run.expect_after(mark, "front ▸ GET /api HTTP/1.1 → 429", std::time::Duration::from_secs(5));
        assert!(shown.contains("→ 429 local_rate_limited in "), "{at}: {shown}");
        let served = run.expect_after(mark, "front ▸ GET /open HTTP/1.1 → 200 in ", std::time::Duration::from_secs(5));
        assert!(served.contains(" ms from 127.0.0.1:"), "{at}: {served}");
        run.expect_after(mark, "api ▸ GET /open ", std::time::Duration::from_secs(5));
        run.signal(libc::SIGINT);
        let (code, output) = run.wait();
        assert_eq!(code, 0, "{output}");
        let log = std::fs::read_to_string(&access_log).unwrap();
        let lines: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 4, "{at}: {log}");
        let limited = lines.iter().find(|l| l["status"] == 429).unwrap_or_else(|| panic!("{at}: {log}"));
        assert_eq!((limited["details"].as_str(), limited["path"].as_str()), (Some("local_rate_limited"), Some("/api")));
        assert!(run_dir(&gw).join("api/access.log").is_file(), "{at}: the service Envoy's own");
    }
}

#[test]
fn bad_gateway_policies_are_refused_naming_the_key() {
    for (section, key) in [
        ("[topology.front.rate_limit]\nrequests = 0\nper = \"1s\"\n", "front.rate_limit.requests = 0"),
        (
            "[[topology.routes]]\nprefix = \"/\"\nservice = \"service-1\"\nretries = { on = \"sometimes\", attempts = 2 }\n\
          [[topology.services]]\nname = \"service-1\"\n",
            "routes[0].retries.on",
        ),
        (
            "[[topology.routes]]\nprefix = \"/\"\nservice = \"service-1\"\ntimeout = \"soon\"\n\
          [[topology.services]]\nname = \"service-1\"\n",
            "routes[0].timeout",
        ),
        (
            "[[topology.routes]]\nprefix = \"/\"\nservice = \"service-1\"\nmethods = [\"get\"]\n\
          [[topology.services]]\nname = \"service-1\"\n",
            "routes[0].methods[0]: \"get\" is not an HTTP method in upper case",
        ),
        (
            "[topology.ebpf]\nproject = \"../firewall\"\ndeny = [\"10.0.0.0/8\"]\n",
            "ebpf.deny[0] = \"10.0.0.0/8\" is not an IPv4 address",
        ),
    ] {
        let (gw, root) = on_double(&format!("\n{section}"), "");
        let run = gw_in(&gw, &root, &["render", "--out", "out"]);
        run.fails_with(2, key);
        assert!(!root.join("out").exists(), "nothing written for {key}");
    }
}

#[test]
fn load_balancing_splits_and_header_routes_on_real_envoys() {
    let topology = "\n[topology.front]\nfilters = []\n\n\
         [[topology.routes]]\nprefix = \"/rr\"\nservice = \"pool\"\n\
         [[topology.routes]]\nprefix = \"/split\"\nservices = [{ service = \"v1\", weight = 90 }, { service = \"v2\", weight = 10 }]\n\
         [[topology.routes]]\nprefix = \"/ab\"\nservice = \"v2\"\nheaders_match = { x-canary = \"yes\" }\n\
         [[topology.routes]]\nprefix = \"/ab\"\nservice = \"v1\"\n\
         [[topology.routes]]\nprefix = \"/m\"\nservice = \"v2\"\nmethods = [\"POST\", \"PUT\"]\n\
         [[topology.routes]]\nprefix = \"/m\"\nservice = \"v1\"\nmethods = [\"GET\"]\n\n\
         [[topology.services]]\nname = \"pool\"\nendpoints = [\"echo\", \"echo\", \"echo\"]\nlb = \"round_robin\"\n\
         [[topology.services]]\nname = \"v1\"\n[[topology.services]]\nname = \"v2\"\n";
    for envoy in common::envoy::all() {
        let at = format!("Envoy {}", envoy.version);
        let (gw, root) = on_real(&envoy, topology);
        let mut run = start(&gw, &root, &["run"]);
        run.expect("ready; try:");
        let rr = url_of(&mut run, "/rr");
        let split = run.expect("/split  → v1 90%, v2 10%").split_whitespace().next().unwrap().to_string();
        let ab = url_of(&mut run, "/ab");
        let by_method = run.expect("/m  → v2 (with POST|PUT)").split_whitespace().next().unwrap().to_string();
        let client = client();
        let answer = |url: &str, canary: bool| -> serde_json::Value {
            let mut request = client.get(url);
            if canary {
                // "yes", which YAML 1.1 readers such as Envoy's take for a boolean unless quoted.
                request = request.header("x-canary", "yes");
            }
            let answer = request.send().unwrap();
            assert_eq!(answer.status(), 200, "{at}");
            answer.json().unwrap()
        };
        let mut per_endpoint = std::collections::BTreeMap::new();
        for _ in 0..300 {
            let echoed = answer(&rr, false);
            assert_eq!(echoed["service"], "pool", "{at}");
            *per_endpoint.entry(echoed["endpoint"].as_u64().unwrap()).or_insert(0) += 1;
        }
        assert_eq!(per_endpoint.len(), 3, "{at}: {per_endpoint:?}");
        assert!(per_endpoint.values().all(|n| (90..=110).contains(n)), "{at}: round robin {per_endpoint:?}");
        let v1 = (0..1000).filter(|_| answer(&split, false)["service"] == "v1").count();
        assert!((850..=950).contains(&v1), "{at}: {v1} of 1000 to v1, 90 % asked");
        assert_eq!(answer(&ab, true)["service"], "v2", "{at}");
        assert_eq!(answer(&ab, false)["service"], "v1", "{at}");
        let service_of = |method: reqwest::Method| {
            let answer = client.request(method, &by_method).send().unwrap();
            (answer.status().as_u16(), answer.json::<serde_json::Value>().ok().map(|e| e["service"].clone()))
        };
        assert_eq!(service_of(reqwest::Method::POST), (200, Some("v2".into())), "{at}");
        assert_eq!(service_of(reqwest::Method::PUT), (200, Some("v2".into())), "{at}");
        assert_eq!(service_of(reqwest::Method::GET), (200, Some("v1".into())), "{at}");
        // No route takes a DELETE to /m: Envoy answers 404 itself.
        assert_eq!(service_of(reqwest::Method::DELETE).0, 404, "{at}");

        run.signal(libc::SIGINT);
        let (code, output) = run.wait();
        assert_eq!(code, 0, "{output}");
    }
}

#[test]
fn health_checks_retries_outlier_detection_and_circuit_breakers_on_real_envoys() {
    let topology = "\n[topology.front]\nfilters = []\n\n\
         [[topology.routes]]\nprefix = \"/checked\"\nservice = \"checked\"\n\
         [[topology.routes]]\nprefix = \"/retried\"\nservice = \"retried\"\nretries = { on = \"5xx\", attempts = 2 }\n\
         [[topology.routes]]\nprefix = \"/ejecting\"\nservice = \"ejecting\"\n\
         [[topology.routes]]\nprefix = \"/guarded\"\nservice = \"guarded\"\n\n\
         [[topology.services]]\nname = \"checked\"\nendpoints = [\"echo\", \"127.0.0.1:9\"]\n\
         health_check = { path = \"/healthz\", interval = \"1s\" }\n\
         [[topology.services]]\nname = \"retried\"\nendpoints = [\"echo\", \"echo\"]\n\
         [[topology.services]]\nname = \"ejecting\"\nendpoints = [\"echo\", \"echo\"]\noutlier_detection = { consecutive_5xx = 3 }\n\
         [[topology.services]]\nname = \"guarded\"\ncircuit_breaker = { max_pending_requests = 1, max_requests = 1 }\n";
    for envoy in common::envoy::all() {
        let at = format!("Envoy {}", envoy.version);
        let (gw, root) = on_real(&envoy, topology);
        let mut run = start(&gw, &root, &["run"]);
        run.expect("ready; try:");
        let checked = url_of(&mut run, "/checked");
        let retried = url_of(&mut run, "/retried");
        let ejecting = url_of(&mut run, "/ejecting");
        let guarded = url_of(&mut run, "/guarded");
        let client = client();
        let status = |url: &str, fail: Option<&str>| {
            let mut request = client.get(url);
            if let Some(endpoint) = fail {
                request = request.header("x-echo-fail-endpoint", endpoint);
            }
            request.send().unwrap().status().as_u16()
        };
        // Nothing listens on 127.0.0.1:9: health checking keeps it out of the rotation.
        let statuses: Vec<u16> = (0..20).map(|_| status(&checked, None)).collect();
        assert!(statuses.iter().all(|s| *s == 200), "{at}: health-checked {statuses:?}");
        // Endpoint 2 fails every request; a retry goes to the other one.
        let statuses: Vec<u16> = (0..20).map(|_| status(&retried, Some("2"))).collect();
        assert!(statuses.iter().all(|s| *s == 200), "{at}: retried {statuses:?}");
        // Each endpoint fails the first request that asks: the first two attempts fail (one on
        // each endpoint), the last of the two retries passes. Asking for 4 failures on each is
        // more than three attempts get through (each endpoint has counted at most 2 so far).
        let answer = client.get(&retried).header("x-echo-fail-first", "1").send().unwrap();
        assert_eq!(answer.status(), 200, "{at}: retries hide the first failures");
        let answer = client.get(&retried).header("x-echo-fail-first", "4").send().unwrap();
        assert_eq!(answer.status(), 503, "{at}: three attempts, all failing");
        // Without retries the failing endpoint's 503s show until it is ejected, after 3 in a row
        // (Envoy's main thread ejects it: one more request may reach it meanwhile).
        let statuses: Vec<u16> = (0..30).map(|_| status(&ejecting, Some("2"))).collect();
        let failed = statuses.iter().filter(|s| **s == 503).count();
        assert!((3..=4).contains(&failed), "{at}: ejected after 3: {statuses:?}");
        assert!(statuses[10..].iter().all(|s| *s == 200), "{at}: {statuses:?}");
        // One request at a time: concurrent slow ones overflow the breaker.
        let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    scope.spawn(|| {
                        let answer = client.get(&guarded).header("x-echo-delay-ms", "500").send().unwrap();
                        let overloaded =
                            answer.headers().get("x-envoy-overloaded").map(|v| v.to_str().unwrap().to_string());
                        (answer.status().as_u16(), overloaded.unwrap_or_default())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(answers.iter().any(|(s, _)| *s == 200), "{at}: {answers:?}");
        assert!(answers.iter().any(|(s, o)| *s == 503 && o == "true"), "{at}: {answers:?}");

        run.signal(libc::SIGINT);
        let (code, output) = run.wait();
        assert_eq!(code, 0, "{output}");
    }
}

/// `curl` against the front: (the HTTP version it spoke, the status), e.g. ("2", "200").
fn curl(args: &[&str]) -> (String, String) {
    let output = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "--max-time", "10"])
        .args(args)
        .env_remove("https_proxy")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .output()
        .expect("curl runs (.ci/run installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "curl {args:?}: {text} {}", String::from_utf8_lossy(&output.stderr));
    let (version, status) = text.split_once(' ').unwrap();
    (version.to_string(), status.to_string())
}

#[test]
fn tls_and_http2_on_the_front_of_real_envoys() {
    for envoy in common::envoy::all() {
        let at = format!("Envoy {}", envoy.version);
        for (tls, expected_scheme) in [("tls = true\nhttp2 = true\n", "https"), ("http2 = true\n", "http")] {
            let (gw, root) = on_real(&envoy, &format!("\n[topology.front]\nfilters = []\n{tls}"));
            let mut run = start(&gw, &root, &["run"]);
            run.expect("ready; try:");
            let url = url_of(&mut run, "/service/1");
            assert!(url.starts_with(&format!("{expected_scheme}://")), "{at}: {url}");
            if expected_scheme == "https" {
                let ca = gw.home().join("certs/ca.pem");
                let hint = run.expect("gw's development CA: curl --http2 --cacert ");
                assert!(hint.contains(&ca.display().to_string()), "{at}: {hint}");
                let ca = ca.display().to_string();
                assert_eq!(curl(&["--http2", "--cacert", &ca, &url]), ("2".into(), "200".into()), "{at}: h2 by ALPN");
                assert_eq!(curl(&["--http1.1", "--cacert", &ca, &url]), ("1.1".into(), "200".into()), "{at}");
                let untrusted =
                    std::process::Command::new("curl").args(["-sS", "-o", "/dev/null", &url]).output().unwrap();
                assert!(!untrusted.status.success(), "{at}: only gw's CA vouches for the certificate");
            } else {
                assert_eq!(curl(&["--http2-prior-knowledge", &url]), ("2".into(), "200".into()), "{at}: h2c");
            }
            run.signal(libc::SIGINT);
            let (code, output) = run.wait();
            assert_eq!(code, 0, "{output}");
        }
    }
}

#[test]
fn tls_files_that_do_not_exist_are_refused_naming_the_key() {
    let (gw, root) = on_double("\n[topology.front]\ntls = { cert = \"certs/gw.pem\", key = \"certs/gw.key\" }\n", "");
    let run = gw_in(&gw, &root, &["run"]);
    run.fails_with(2, "front.tls.cert = \"certs/gw.pem\": no such file");
    assert!(!run.stderr.contains("started (pid"), "{}", run.stderr);
}

#[test]
fn jwt_on_the_front_of_real_envoys() {
    let topology = "\n[topology.front]\nfilters = []\n\
         [topology.front.jwt]\nissuer = \"https://issuer.example\"\naudiences = [\"gw-demo\"]\njwks = \"keys/jwks.json\"\n\
         forward_claims = { sub = \"x-jwt-sub\" }\n\n\
         [[topology.routes]]\nprefix = \"/public\"\nservice = \"api\"\njwt = false\n\
         [[topology.routes]]\nprefix = \"/\"\nservice = \"api\"\n\
         cors = { allow_origins = [\"https://app.example\"], allow_methods = [\"GET\"], max_age = \"1h\" }\n\n\
         [[topology.services]]\nname = \"api\"\n";
    let signer = Signer::new();
    let stranger = Signer::new();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let claims = |aud: &str, exp: u64| serde_json::json!({"iss": "https://issuer.example", "aud": aud, "sub": "alice", "exp": exp});
    let good = signer.token(claims("gw-demo", now + 3600));
    for envoy in common::envoy::all() {
        let at = format!("Envoy {}", envoy.version);
        let (gw, root) = on_real(&envoy, topology);
        std::fs::create_dir_all(root.join("keys")).unwrap();
        std::fs::write(root.join("keys/jwks.json"), signer.jwks()).unwrap();
        let mut run = start(&gw, &root, &["run"]);
        run.expect("ready; try:");
        let public = url_of(&mut run, "/public");
        let private = run.expect("/  → api").split_whitespace().next().unwrap().to_string();
        let client = client();
        let get = |url: &str, token: Option<&str>| {
            let mut request = client.get(url);
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            request.send().unwrap()
        };
        let missing = get(&private, None);
        assert_eq!(missing.status(), 401, "{at}");
        let challenge = missing.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
        assert!(challenge.as_deref().is_some_and(|c| c.starts_with("Bearer")), "{at}: {challenge:?}");
        assert_eq!(
            get(&private, Some(&stranger.token(claims("gw-demo", now + 3600)))).status(),
            401,
            "{at}: signature"
        );
        assert_eq!(get(&private, Some(&signer.token(claims("gw-demo", now - 3600)))).status(), 401, "{at}: expired");
        assert_eq!(get(&private, Some(&signer.token(claims("other", now + 3600)))).status(), 403, "{at}: audience");
        let passed = get(&private, Some(&good));
        assert_eq!(passed.status(), 200, "{at}");
        let headers = passed.json::<serde_json::Value>().unwrap()["headers"].to_string();
        assert!(headers.contains(r#"["x-jwt-sub","alice"]"#) && !headers.contains("authorization"), "{at}: {headers}");
        assert_eq!(get(&public, None).status(), 200, "{at}: jwt = false");
        // A browser's preflight needs no token; only the named origin is allowed.
        let preflight = |origin: &str| {
            client
                .request(reqwest::Method::OPTIONS, &private)
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .send()
                .unwrap()
        };
        let allowed = preflight("https://app.example");
        assert_eq!(allowed.status(), 200, "{at}");
        assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example", "{at}");
        assert_eq!(allowed.headers()["access-control-max-age"], "3600", "{at}");
        assert!(preflight("https://evil.example").headers().get("access-control-allow-origin").is_none(), "{at}");

        run.signal(libc::SIGINT);
        let (code, output) = run.wait();
        assert_eq!(code, 0, "{output}");
    }
}
