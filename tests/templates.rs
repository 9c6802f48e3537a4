//! Every template, generated and built in the builder image: proxy-wasm
//! filters build to .wasm, pass `gw test` (cargo test and their scenarios
//! in gw's wasm host), and, started with `gw run` as generated, show their
//! filter working at the first URL gw prints (the api-gateway template: the
//! 401/200/429 curl lines gw prints, run as printed), on real Envoys (1.36 and 1.40);
//! aya templates build their object and loader, pass their unit tests and
//! (as root) the kernel's verifier; the xdp template passes its packet
//! scenarios in the kernel, loses a verifier pass without its bounds check, and
//! its loader really drops a blocked source's packets inside network namespaces
//! made by the test.
//!
//! Each kind renders its templates one after the other under the same
//! project name and path, so they share one target volume: dependencies are
//! compiled once, not once per template.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::docker::require;
use common::envoy::RealEnvoy;
use common::gw::{Gw, Run};
use common::running::Running;

fn ids_of_kind(gw: &Gw, kind: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(&gw.run(&["templates", "--json"]).ok().stdout).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == kind)
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// Renders `id` as `name` in the fixture's work dir, replacing the previous one.
fn render(gw: &Gw, id: &str, name: &str) -> PathBuf {
    let root = gw.work().join(name);
    let _ = std::fs::remove_dir_all(&root);
    gw.run(&["init", name, "--template", id, "--accept-defaults"]).ok();
    root
}

fn gw_in(gw: &Gw, dir: &Path, args: &[&str]) -> Run {
    gw.command(args).current_dir(dir).output().unwrap().into()
}

fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not ELF", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

#[test]
fn proxy_wasm_templates_build_pass_gw_test_and_work_on_real_envoys() {
    let Some(_docker) = require() else { return };
    let envoys = common::envoy::all();
    let gw = Gw::new();
    for envoy in &envoys {
        gw.publish_real_envoy(envoy);
    }
    let ids = ids_of_kind(&gw, "proxy-wasm");
    assert!(ids.len() >= 6, "{ids:?}");
    for id in ids {
        let root = render(&gw, &id, "filter");
        // The scenarios in gw's host and through the first real Envoy, compared; the module is
        // built once, and the other Envoys run the same module (`--wasm`).
        let mut args = vec!["test"];
        if let Some(first) = envoys.first() {
            args.extend(["--envoy", &first.version]);
        }
        let run = gw_in(&gw, &root, &args);
        assert_eq!(run.code, 0, "{id}: gw {args:?}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        assert!(run.stdout.contains(" passed, 0 failed"), "{id}: scenarios ran\n{}", run.stdout);
        let wasm = root.join("target/gw/filter.wasm");
        let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{id}: {}: {e}", wasm.display()));
        assert!(bytes.windows(23).any(|w| w == b"proxy_abi_version_0_2_1"), "{id}: exports the proxy-wasm ABI");
        for (i, envoy) in envoys.iter().enumerate() {
            let run = if i == 0 { run.stdout.clone() } else { scenarios_through(&gw, &id, &root, envoy) };
            agrees_with_the_host(&id, &run, envoy);
            works_as_generated(&gw, &id, &root, envoy);
        }
    }
}

/// `gw test --wasm <the built module> --scenario <each file> --envoy <version>`'s stdout.
fn scenarios_through(gw: &Gw, id: &str, root: &Path, envoy: &RealEnvoy) -> String {
    let mut files: Vec<String> = std::fs::read_dir(root.join("scenarios"))
        .unwrap()
        .map(|e| format!("scenarios/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    let mut args = vec!["test", "--wasm", "target/gw/filter.wasm", "--envoy", &envoy.version];
    for file in &files {
        args.extend(["--scenario", file.as_str()]);
    }
    let run = gw_in(gw, root, &args);
    assert_eq!(run.code, 0, "{id}: gw {args:?}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    run.stdout
}

/// Every case of the template agrees between gw's host and Envoy, and only the cases gw's
/// virtual clock or properties drive (their count is the template's) are skipped.
fn agrees_with_the_host(id: &str, stdout: &str, envoy: &RealEnvoy) {
    let (passed, skipped) = match id {
        "http-auth-basic" => (4, 0),
        "http-filter" => (2, 0),
        "http-auth-jwt" => (6, 1),
        "http-ratelimit" => (4, 3),
        "network-filter" => (4, 2),
        "access-logger" => (3, 1),
        "api-gateway" => (2, 0),
        other => panic!("{other}: a new proxy-wasm template needs its counts here"),
    };
    let line = format!("{passed} passed, 0 failed, {skipped} skipped (gw's host and Envoy {})", envoy.version);
    assert!(stdout.contains(&line), "{id}: expected {line:?} in\n{stdout}");
}

/// `gw run` with the project as `gw init` wrote it: the filter at work at the first URL.
fn works_as_generated(gw: &Gw, id: &str, root: &Path, envoy: &RealEnvoy) {
    let mut command = gw.command(&["run", "--envoy", &envoy.version]);
    command.current_dir(root);
    let mut run = Running::spawn(command);
    run.expect_after(0, "ready; try:", Duration::from_secs(120));
    let at = format!("{id} on Envoy {}", envoy.version);
    if id == "api-gateway" {
        gateway_at_work(&mut run, &at);
    } else {
        filter_at_work(id, root, &mut run, &at);
    }
    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{at}\n{output}");
}

/// The filter at the first URL gw printed, as each template's README says.
fn filter_at_work(id: &str, root: &Path, run: &mut Running, at: &str) {
    let url = run.expect("/service/1  → service-1").split_whitespace().next().unwrap().to_string();
    let admin = run.expect("front is ready; admin at ").rsplit(' ').next().unwrap().to_string();
    let client = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let get = |headers: &[(&str, &str)]| {
        let mut request = client.get(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().unwrap_or_else(|e| panic!("{at}: {e}"))
    };
    let header = |answer: &reqwest::blocking::Response, name: &str| {
        answer.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    };
    let echoed = |answer: reqwest::blocking::Response| -> String {
        let json: serde_json::Value = answer.json().unwrap();
        assert_eq!(json["service"], "service-1", "{at}");
        json["headers"].to_string()
    };
    match id {
        "http-auth-basic" => {
            let refused = get(&[]);
            assert_eq!(refused.status(), 401, "{at}");
            assert_eq!(header(&refused, "www-authenticate"), "Basic realm=\"gw\"", "{at}");
            let passed = get(&[("authorization", "Basic YWRtaW46c2VjcmV0")]);
            assert_eq!(passed.status(), 200, "{at}");
            let headers = echoed(passed);
            assert!(
                headers.contains(r#"["x-auth-user","admin"]"#) && !headers.contains("authorization"),
                "{at}: {headers}"
            );
        }
        "http-auth-jwt" => {
            let refused = get(&[]);
            assert_eq!(refused.status(), 401, "{at}");
            assert_eq!(header(&refused, "www-authenticate"), "Bearer realm=\"filter\"", "{at}");
            let token = good_token(root);
            let passed = get(&[("authorization", &format!("Bearer {token}"))]);
            assert_eq!(passed.status(), 200, "{at}");
            let headers = echoed(passed);
            assert!(headers.contains(r#"["x-jwt-sub","alice"]"#), "{at}: {headers}");
        }
        "http-ratelimit" => {
            let first = get(&[]);
            assert_eq!((first.status().as_u16(), header(&first, "x-ratelimit-remaining")), (200, "1".into()), "{at}");
            assert_eq!(header(&first, "x-ratelimit-limit"), "2, 2;w=60", "{at}");
            assert_eq!(get(&[]).status(), 200, "{at}");
            let limited = get(&[]);
            assert_eq!(limited.status(), 429, "{at}");
            assert_eq!(header(&limited, "x-ratelimit-remaining"), "0", "{at}");
            assert!(!header(&limited, "x-ratelimit-reset").is_empty() && !header(&limited, "retry-after").is_empty());
        }
        "http-filter" => {
            let answer = get(&[("x-internal", "secret")]);
            assert_eq!(answer.status(), 200, "{at}");
            assert_eq!(header(&answer, "x-gw-filter"), "seen", "{at}");
            let headers = echoed(answer);
            assert!(
                headers.contains(r#"["x-request-tag","gw"]"#) && !headers.contains("x-internal"),
                "{at}: {headers}"
            );
        }
        "network-filter" => {
            assert_eq!(get(&[]).status(), 200, "{at}");
            let stats =
                client.get(format!("{admin}/stats?filter=tcp_connections_total")).send().unwrap().text().unwrap();
            let count: u64 = stats
                .lines()
                .find_map(|l| l.strip_prefix("wasmcustom.tcp_connections_total: "))
                .unwrap_or_else(|| panic!("{at}: no counter in\n{stats}"))
                .trim()
                .parse()
                .unwrap();
            assert!(count >= 1, "{at}: {stats}");
        }
        "access-logger" => {
            assert_eq!(get(&[("user-agent", "gw-test")]).status(), 200, "{at}");
            let line = run.expect(r#""path":"/service/1""#);
            assert!(line.contains(r#""method":"GET""#) && line.contains(r#""user_agent":"gw-test""#), "{at}: {line}");
        }
        other => panic!("{other}: a new proxy-wasm template needs its check here"),
    }
}

/// The gateway's own lines, run as gw printed them: 401 without a token, 200 with the
/// development token (its subject forwarded, the filter at work), 429 once the rate limit is
/// spent; and the route that needs no token.
fn gateway_at_work(run: &mut Running, at: &str) {
    let public = run.expect("/public  → api (no token needed)").split_whitespace().next().unwrap().to_string();
    let mut command = |label: &str| {
        let line = run.expect(label);
        let (_, args) = line.split_once(": curl -i").unwrap_or_else(|| panic!("{at}: {line}"));
        format!("curl -s -i{args}")
    };
    let without = command("401 without a token: ");
    let with = command("200 with the development token: ");
    let curl = |command: &str| -> (String, String) {
        let out = Command::new("sh").args(["-c", command]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        (text.lines().next().unwrap_or_default().trim().to_string(), text)
    };
    let echoed = |text: &str| -> serde_json::Value {
        let body = text.split_once("\n\n").map(|(_, b)| b).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{at}: {e}\n{text}"))
    };
    let open = without.replace(&format!(" {}", without.rsplit(' ').next().unwrap()), &format!(" {public}"));
    let (status, text) = curl(&open);
    assert_eq!(status, "HTTP/2 200", "{at}: {open}\n{text}");
    let (status, text) = curl(&without);
    assert_eq!(status, "HTTP/2 401", "{at}: {without}\n{text}");
    assert!(text.contains("www-authenticate: Bearer realm="), "{at}: {text}");
    let (status, text) = curl(&with);
    assert_eq!(status, "HTTP/2 200", "{at}: {with}\n{text}");
    assert!(text.contains("x-gw-filter: seen") && text.contains("x-ratelimit-limit: 10"), "{at}: {text}");
    let headers = echoed(&text)["headers"].to_string();
    for pair in [r#"["x-jwt-sub","dev-user"]"#, r#"["x-gateway","filter"]"#, r#"["x-request-tag","gw"]"#] {
        assert!(headers.contains(pair), "{at}: {pair} in {headers}");
    }
    // Ten requests a minute: /public and the one above took two, so the tenth more is refused.
    let statuses: Vec<(String, String)> = (0..9).map(|_| curl(&with)).collect();
    let (last, refused) = statuses.last().unwrap();
    assert_eq!(last, "HTTP/2 429", "{at}: {:?}", statuses.iter().map(|s| &s.0).collect::<Vec<_>>());
    assert!(statuses[..8].iter().all(|(s, _)| s == "HTTP/2 200"), "{at}: {statuses:?}");
    for header in ["x-envoy-ratelimited: true", "x-ratelimit-remaining: 0", "x-ratelimit-reset: "] {
        assert!(refused.contains(header), "{at}: {header} in\n{refused}");
    }
}

/// The token the JWT template's scenarios accept ("a good token passes …").
fn good_token(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("scenarios/jwt.yaml")).unwrap();
    let scenario: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let case = scenario["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with("a good token passes")));
    let header = case.and_then(|c| c["request"]["headers"]["authorization"].as_str()).expect("the good token case");
    header.strip_prefix("Bearer ").unwrap().to_string()
}

#[test]
fn ebpf_templates_build_their_object_and_loader() {
    let Some(_docker) = require() else { return };
    let gw = Gw::new();
    let ids = ids_of_kind(&gw, "ebpf");
    assert!(ids.len() >= 6, "{ids:?}");
    for id in ids {
        let root = render(&gw, &id, "prog");
        let run = gw_in(&gw, &root, &["build"]);
        assert_eq!(run.code, 0, "{id}: gw build\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        assert_eq!(elf_machine(&root.join("target/gw/prog.bpf.o")), 247, "{id}: a BPF object");
        assert_eq!(elf_machine(&root.join("target/gw/prog")), 62, "{id}: an x86-64 loader");
        let run = gw_in(&gw, &root, &["test"]);
        assert_eq!(run.code, 0, "{id}: gw test\n{}", run.stderr);
        // As root: every program through the kernel's verifier, and the template's packets.
        if common::require::root("the kernel's verifier and BPF_PROG_TEST_RUN") {
            assert!(run.stdout.contains("ok    verifier: "), "{id}: the verifier's pass\n{}", run.stdout);
            assert!(!run.stdout.contains("FAIL") && !run.stdout.contains("skip "), "{id}\n{}", run.stdout);
            assert!(run.stdout.contains(" passed, 0 failed"), "{id}\n{}", run.stdout);
            if id == "cgroup-skb" && common::require::tools(&[("ip", "iproute2"), ("ping", "iputils-ping")]) {
                cgroup_programs_in_the_lab(&gw, &root);
            }
        }
    }
}

/// The cgroup-skb template in `gw run`'s lab: its programs on the lab's cgroup, which
/// `gw lab exec` joins, so a ping from the client is counted both ways.
fn cgroup_programs_in_the_lab(gw: &Gw, root: &Path) {
    let (mut child, _, seen, _) = start_lab(gw, root, &[]);
    let all = seen.join("\n");
    assert!(all.contains("attached count_egress (cgroup skb) on the lab's cgroup (egress"), "{all}");
    let ping = gw.command(&["lab", "exec", "client", "--", "ping", "-c", "2", "-W", "1", "10.200.2.2"]).output();
    assert!(ping.unwrap().status.success(), "the client reaches the server");
    let traffic = gw.run(&["lab", "map", "TRAFFIC"]).ok().stdout.clone();
    let packets = |direction: &str| -> u64 {
        let line = traffic.lines().find_map(|l| l.strip_prefix(&format!("{direction} = ["))).unwrap_or_default();
        line.split(',').next().and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    };
    assert!(packets("0") >= 2 && packets("1") >= 2, "both ways counted:\n{traffic}");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success(), "{}", seen.join("\n"));
}

/// Network namespaces and a veth pair, removed when dropped.
struct Netns {
    names: [String; 2],
}

impl Netns {
    fn new() -> Netns {
        let tag = std::process::id() % 100_000;
        let names = [format!("gwa{tag}"), format!("gwb{tag}")];
        for name in &names {
            ip(&["netns", "add", name]);
        }
        let (a, b) = (format!("gwva{tag}"), format!("gwvb{tag}"));
        ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
        for (dev, ns, addr) in [(&a, &names[0], "10.201.0.1/24"), (&b, &names[1], "10.201.0.2/24")] {
            ip(&["link", "set", dev, "netns", ns]);
            ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        Netns { names }
    }

    fn veth_b(&self) -> String {
        self.names[1].replace("gwb", "gwvb")
    }

    fn ping_from_a(&self, count: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.names[0], "ping", "-c", count, "-W", "1", "-i", "0.2", "10.201.0.2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip (iproute2) runs");
    assert!(status.success(), "ip {args:?} failed");
}

#[test]
fn the_xdp_template_drops_a_blocked_source() {
    let Some(_docker) = require() else { return };
    if !common::require::root("loading XDP programs")
        || !common::require::tools(&[("ip", "iproute2"), ("ping", "iputils-ping"), ("curl", "curl")])
    {
        return;
    }
    let gw = Gw::new();
    let root = render(&gw, "xdp", "prog");
    gw_in(&gw, &root, &["build"]).ok();
    let loader = root.join("target/gw/prog");

    // gw test: the program through the verifier, then the template's packets through it.
    let run = gw_in(&gw, &root, &["test"]);
    assert_eq!(run.code, 0, "gw test\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ok    verifier: xdp_policy (Xdp)"), "{}", run.stdout);
    assert!(run.stdout.contains("ok    a thousand blocked packets, each counted"), "{}", run.stdout);
    assert!(run.stdout.ends_with("8 passed, 0 failed\n"), "{}", run.stdout);
    // The same in the builder image, as for a caller who is not root, with the JUnit file out.
    let docker = gw_in(&gw, &root, &["test", "--kernel", "docker", "--junit", "junit.xml"]);
    assert_eq!(docker.code, 0, "gw test --kernel docker\nstdout:\n{}\nstderr:\n{}", docker.stdout, docker.stderr);
    assert!(docker.stderr.contains("loading the programs in the builder image"), "{}", docker.stderr);
    assert!(docker.stdout.contains("ok    verifier: xdp_policy (Xdp)"), "{}", docker.stdout);
    assert!(docker.stdout.ends_with("8 passed, 0 failed\n"), "{}", docker.stdout);
    let junit = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    assert!(junit.contains("tests=\"8\"") && junit.contains("failures=\"0\""), "{junit}");
    bad_scenarios_say_where(&gw, &root);

    let netns = Netns::new();
    assert!(netns.ping_from_a("1"), "the namespaces can talk before the program is attached");
    let mut loading = Command::new("ip");
    loading.args(["netns", "exec", &netns.names[1]]).arg(&loader);
    loading.args(["--iface", &netns.veth_b(), "--block", "10.201.0.1"]);
    let (mut child, lines) = spawn_lines(loading);
    let mut seen = Vec::new();
    wait_for(&lines, &mut seen, |l| l.contains("counting packets"));
    assert!(!netns.ping_from_a("3"), "pings from the blocked source are dropped");
    let counters = wait_for(&lines, &mut seen, |l| {
        l.strip_prefix("pass=")
            .and_then(|rest| rest.split("drop=").nth(1))
            .and_then(|d| d.trim().parse::<u64>().ok())
            .is_some_and(|d| d >= 3)
    });
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "the loader exits cleanly on Ctrl-C: {status}\n{}", seen.join("\n"));
    assert!(netns.ping_from_a("1"), "detached: traffic flows again ({counters})");
    drop(netns);

    lab_at_work(&gw, &root);
    on_an_interface_of_the_host(&gw, &root);
    gateway_behind_the_program(&gw);

    // Without the bounds check, the verifier refuses the program, and gw shows where and why.
    let source = root.join("prog-ebpf/src/main.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    let unchecked = text.replace("if at + N > self.end {\n            return None;\n        }", "let _ = self.end;");
    assert_ne!(unchecked, text, "the template's bounds check moved; update this test");
    std::fs::write(&source, unchecked).unwrap();
    let run = gw_in(&gw, &root, &["test"]);
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("FAIL  verifier: xdp_policy (Xdp)"), "{}", run.stdout);
    assert!(run.stdout.contains("invalid access to packet"), "the verifier's reason\n{}", run.stdout);
    assert!(run.stdout.contains("the verifier rejected xdp_policy (section xdp)"), "{}", run.stdout);
    assert!(run.stderr.contains("the packet scenarios were not run"), "{}", run.stderr);
}

/// `command` started, with the lines it writes on stdout and stderr as they come.
fn spawn_lines(mut command: Command) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (tx, lines) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    (child, lines)
}

/// The next line that `predicate` accepts; every line read is kept in `seen`.
fn wait_for(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, predicate: impl Fn(&str) -> bool) -> String {
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                seen.push(line.clone());
                if predicate(&line) {
                    return line;
                }
            }
            Err(_) => panic!("not printed as expected:\n{}", seen.join("\n")),
        }
    }
}

/// `gw run ARGS` in the eBPF project at `root`, once its lab is ready: the child, its lines, the
/// lines so far, and the lab's id.
fn start_lab(
    gw: &Gw,
    root: &Path,
    args: &[&str],
) -> (std::process::Child, mpsc::Receiver<String>, Vec<String>, String) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let mut run = gw.command(&all);
    run.current_dir(root);
    let (child, lines) = spawn_lines(run);
    let mut seen = Vec::new();
    let header = wait_for(&lines, &mut seen, |l| l.starts_with("lab ") && l.contains("client 10.200.1.2"));
    let id = header[4..10].to_string();
    wait_for(&lines, &mut seen, |l| l == "ready; Ctrl-C to stop");
    (child, lines, seen, id)
}

fn lab_namespaces(id: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("gw-{id}-")))
        .map(String::from)
        .collect()
}

/// `gw run` in the xdp project: the lab up with the program on the gateway, the traffic gw
/// sends on request, a source blocked and let through again from another terminal with
/// `gw lab map` (no restart), the drop counter live, and nothing left after Ctrl-C or a kill.
fn lab_at_work(gw: &Gw, root: &Path) {
    let traffic = ["--ping", "--curl", "http://10.200.2.2:8080/hello", "--udp", "hi", "--bpf-log", "debug"];
    let (mut child, lines, mut seen, id) = start_lab(gw, root, &traffic);
    let all = seen.join("\n");
    assert!(all.contains("attached xdp_policy (XDP) on gateway eth0 ingress"), "{all}");
    for line in ["client ▸ ping: ok", "client ▸ curl: ok", "\"path\": \"/hello\"", "client ▸ udp: answered \"hi\""]
    {
        assert!(all.contains(line), "{line}\n{all}");
    }
    assert_eq!(lab_namespaces(&id).len(), 3, "{all}");

    let in_client = |args: &[&str]| {
        let mut command = vec!["lab", "exec", "client", "--"];
        command.extend(args);
        gw.command(&command).output().unwrap().status.success()
    };
    let ping = ["ping", "-c", "3", "-W", "1", "-i", "0.2", "10.200.2.2"];
    let curl = ["curl", "-sS", "-m", "2", "http://10.200.2.2:8080/"];
    assert!(in_client(&ping) && in_client(&curl), "the client reaches the server through the gateway");
    gw.run(&["lab", "map", "BLOCKLIST", "set", "ipv4:10.200.1.2", "u32:1"]).ok();
    assert!(!in_client(&ping), "pings from the blocked client are dropped at the gateway");
    assert!(!in_client(&curl), "and its HTTP requests too");
    let drops = |line: &str| {
        line.strip_prefix("map VERDICTS[1] ")
            .and_then(|rest| rest.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 3)
    };
    wait_for(&lines, &mut seen, drops);
    // The program's aya-log line for each drop (the template logs it at debug).
    wait_for(&lines, &mut seen, |l| l == "log DEBUG drop from 10.200.1.2");
    let listed = gw.run(&["lab", "map", "VERDICTS"]).ok().stdout.clone();
    let dropped: u64 = listed.lines().find_map(|l| l.strip_prefix("1 = ")).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(dropped >= 4, "the drop counter, read by gw lab map:\n{listed}");
    assert!(gw.run(&["lab", "map", "BLOCKLIST"]).ok().stdout.contains("0a c8 01 02 = 1"));
    gw.run(&["lab", "map", "BLOCKLIST", "delete", "ipv4:10.200.1.2"]).ok();
    assert!(in_client(&curl), "let through again without a restart");
    // Bad input changes nothing and says what would do.
    gw.run(&["lab", "map", "NOPE"]).fails_with(2, "has no map \"NOPE\"; its maps: .rodata, BLOCKLIST, VERDICTS");
    gw.run(&["lab", "map", "BLOCKLIST", "set", "u8:1", "u32:1"]).fails_with(2, "key is 4 bytes; this one is 1");
    gw.run(&["lab", "map", "BLOCKLIST", "set", "10.200.1.2", "u32:1"]).fails_with(2, "write TYPE:VALUE");
    gw.run(&["lab", "map", "VERDICTS", "delete", "u32:0"]).fails_with(2, "is an array");
    gw.run(&["lab", "exec", "--lab", "nope", "client", "--", "true"]).fails_with(2, "no lab nope is running");

    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "gw run ends cleanly on Ctrl-C: {status}\n{}", seen.join("\n"));
    assert!(lab_namespaces(&id).is_empty(), "Ctrl-C deletes the namespaces");
    assert!(gw.run(&["lab", "list"]).ok().stderr.contains("no lab is running"));
    gw.run(&["lab", "exec", "client", "--", "true"]).fails_with(2, "no lab is running");

    // A killed gw leaves its lab; the next gw clean removes it.
    let (mut child, _, _, id) = start_lab(gw, root, &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(lab_namespaces(&id).len(), 3, "a kill leaves the namespaces for later");
    let clean = gw_in(gw, root, &["clean", "--stale"]);
    assert!(clean.stdout.contains(&format!("removed lab {id}")), "{}\n{}", clean.stdout, clean.stderr);
    assert!(lab_namespaces(&id).is_empty());
}

/// `[topology.ebpf]`: the api-gateway template run in the lab's gateway behind the xdp project
/// (`prog`, built above) on a real Envoy. An allowed client gets 401 and 200 from the JWT
/// filter; a blocked one never reaches Envoy (its request counter stays) while the drop counter
/// rises; `gw lab map` lets it through again, without a restart.
fn gateway_behind_the_program(gw: &Gw) {
    let Some(envoy) = common::envoy::all().into_iter().next() else { return };
    gw.publish_real_envoy(&envoy);
    let front = render(gw, "api-gateway", "front");
    let mut toml = std::fs::read_to_string(front.join("gw.toml")).unwrap();
    // The client starts denied: gw puts it in the program's BLOCKLIST before any traffic.
    toml.push_str("\n[topology.ebpf]\nproject = \"../prog\"\ndeny = [\"10.200.1.2\"]\n");
    std::fs::write(front.join("gw.toml"), toml).unwrap();
    let mut command = gw.command(&["run", "--envoy", &envoy.version]);
    command.current_dir(&front);
    let mut run = Running::spawn(command);
    run.expect_after(0, "ready; try:", Duration::from_secs(600));
    run.expect("attached xdp_policy (XDP) on gateway eth0 ingress");
    let id = run.expect(": client 10.200.1.2 ── gateway")[4..10].to_string();
    run.expect("BLOCKLIST: 10.200.1.2 denied ([topology.ebpf] deny)");
    let mut printed = |label: &str| {
        let line = run.expect(label);
        let (_, command) = line.split_once(": gw lab exec client -- ").unwrap_or_else(|| panic!("{line}"));
        command.to_string()
    };
    let without = printed("401 without a token: ");
    let with = printed("200 with the development token: ");
    let admin = run.expect("the front's filter metrics: ");
    let admin = admin.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).unwrap().replace("wasm", "");
    // As printed, in the client; at most 3 s each.
    let status = |command: &str| -> String {
        let shell = format!("{command} -s -m 3");
        let out = gw.command(&["lab", "exec", "client", "--", "sh", "-c", &shell]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_string()
    };
    let requests = || -> u64 {
        let url = format!("{admin}http.front.downstream_rq_total");
        let out = gw.command(&["lab", "exec", "gateway", "--", "curl", "-s", &url]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines().find_map(|l| l.strip_prefix("http.front.downstream_rq_total: ")).unwrap().parse().unwrap()
    };
    assert_eq!(status(&without), "", "denied from the start: the request times out");
    assert_eq!(requests(), 0, "a denied client never reaches Envoy");
    gw.run(&["lab", "map", "BLOCKLIST", "delete", "ipv4:10.200.1.2"]).ok();
    assert_eq!(status(&without), "HTTP/2 401", "the JWT filter, from the allowed client");
    assert_eq!(status(&with), "HTTP/2 200");
    let served = requests();
    assert_eq!(served, 2);
    gw.run(&["lab", "map", "BLOCKLIST", "set", "ipv4:10.200.1.2", "u32:1"]).ok();
    assert_eq!(status(&with), "", "the blocked client's request times out");
    assert_eq!(requests(), served, "a blocked client never reaches Envoy");
    let verdicts = gw.run(&["lab", "map", "VERDICTS"]).ok().stdout.clone();
    let dropped: u64 = verdicts.lines().find_map(|l| l.strip_prefix("1 = ")).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(dropped >= 1, "the drop counter rose:\n{verdicts}");
    gw.run(&["lab", "map", "BLOCKLIST", "delete", "ipv4:10.200.1.2"]).ok();
    assert_eq!(status(&with), "HTTP/2 200", "let through again, without a restart");
    assert_eq!(requests(), served + 1);
    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains(&format!("lab {id} removed")), "{output}");
    assert!(lab_namespaces(&id).is_empty(), "the lab goes with the topology");
}

/// Scenarios that name what the object lacks, or cannot be read, fail with the case, the key
/// path and the file's line.
fn bad_scenarios_say_where(gw: &Gw, root: &Path) {
    let packet = "packet: {ipv4: {src: 10.0.0.1, dst: 10.0.0.2}, icmp: {}}";
    let cases = format!(
        "program: xdp_policy\ncases:\n\
         - name: a map that is not there\n  maps: {{NOPE: [{{key: {{u32: 1}}, value: {{u32: 1}}}}]}}\n  {packet}\n  expect: {{verdict: XDP_PASS}}\n\
         - name: a key of the wrong size\n  maps: {{BLOCKLIST: [{{key: {{u8: 1}}, value: {{u32: 1}}}}]}}\n  {packet}\n  expect: {{verdict: XDP_PASS}}\n\
         - name: a program that is not there\n  program: nope\n  {packet}\n  expect: {{verdict: XDP_PASS}}\n"
    );
    std::fs::write(root.join("bad.yaml"), cases).unwrap();
    let malformed = "cases:\n- name: a malformed address\n  packet: {ipv4: {src: 10.0.0, dst: 10.0.0.2}}\n  expect: {verdict: XDP_PASS}\n";
    std::fs::write(root.join("malformed.yaml"), malformed).unwrap();
    let object = "target/gw/prog.bpf.o";
    let run = gw_in(gw, root, &["test", "--object", object, "--scenario", "bad.yaml", "--scenario", "malformed.yaml"]);
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let file = root.join("bad.yaml").display().to_string();
    for line in [
        format!("cases[0].maps: the object has no map \"NOPE\"; it has: AYA_LOGS, BLOCKLIST, VERDICTS ({file}:3)"),
        format!("cases[1].maps.BLOCKLIST[0].key: 1 bytes, and the map's are 4 ({file}:7)"),
        format!("program: the object has no program \"nope\"; it has: xdp_policy ({file}:11)"),
        "cases[0].packet.ipv4.src: invalid IPv4 address syntax at line 3".to_string(),
    ] {
        assert!(run.stdout.contains(&line), "{line}\n{}", run.stdout);
    }
    assert!(run.stdout.ends_with("1 passed, 4 failed\n"), "{}", run.stdout);
}

/// `gw run --iface`: the program on an interface gw is given (here one end of the test's veth
/// pair, gw running in that end's namespace), no lab: blocked with `gw lab map`, detached on
/// Ctrl-C.
fn on_an_interface_of_the_host(gw: &Gw, root: &Path) {
    let netns = Netns::new();
    let mut run = Command::new("ip");
    run.args(["netns", "exec", &netns.names[1]]);
    run.arg(env!("CARGO_BIN_EXE_gw")).args(["run", "--iface", &netns.veth_b()]);
    run.current_dir(root).envs(gw.command(&[]).get_envs().filter_map(|(k, v)| Some((k, v?))));
    let (child, lines) = spawn_lines(run);
    let mut seen = Vec::new();
    wait_for(&lines, &mut seen, |l| l == "ready; Ctrl-C to stop");
    let all = seen.join("\n");
    assert!(all.contains(&format!("attached xdp_policy (XDP) on the host's {} ingress", netns.veth_b())), "{all}");
    assert!(netns.ping_from_a("1"));
    gw.run(&["lab", "map", "BLOCKLIST", "set", "ipv4:10.201.0.1", "u32:1"]).ok();
    assert!(!netns.ping_from_a("2"), "blocked on the interface");
    gw.run(&["lab", "exec", "client", "--", "true"]).fails_with(2, "has no namespaces");
    // SAFETY: kill(2) on our own child (ip netns exec execs gw: the pid is gw's).
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut child = child;
    assert!(child.wait().unwrap().success());
    assert!(netns.ping_from_a("1"), "detached on Ctrl-C");
}
