//! Checks that the shared test helpers in tests/common really do what the
//! other tests rely on (a helper that silently does nothing would make those
//! tests pass vacuously).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Archive, Reply, TestServer, envoy_index, sha256_hex, wait_until};

/// Sends a raw request with std TcpStream, reads to EOF and returns
/// (status line, lowercased headers, body bytes actually received).
fn raw_get(server: &TestServer, method: &str, path: &str) -> (String, String, Vec<u8>) {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: selftest\r\n\r\n", server.addr()).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8(all[..split].to_vec()).unwrap();
    let body = all[split + 4..].to_vec();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (status.to_string(), headers.to_lowercase(), body)
}

fn content_length(headers: &str) -> usize {
    headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("content-length header")
}

#[test]
fn server_serves_routes_and_counts_hits() {
    let server = TestServer::start();
    server.route("/a.txt", Reply::bytes(200, b"hello".to_vec()));
    assert_eq!(server.hits("/a.txt"), 0);

    let (status, headers, body) = raw_get(&server, "GET", "/a.txt?x=1");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, b"hello");
    assert_eq!(content_length(&headers), 5);
    assert!(headers.contains("connection: close"));
    raw_get(&server, "GET", "/a.txt");
    assert_eq!(server.hits("/a.txt"), 2);
    assert_eq!(server.hits("a.txt"), 2, "paths are normalized to a leading slash");
    assert_eq!(server.bytes_sent("/a.txt"), 10);

    // HEAD: headers with the full length, no body, no body bytes counted.
    let (status, headers, body) = raw_get(&server, "HEAD", "/a.txt");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(content_length(&headers), 5);
    assert!(body.is_empty());
    assert_eq!(server.bytes_sent("/a.txt"), 10);
    assert_eq!(server.hits("/a.txt"), 3);
    assert_eq!(server.total_hits(), 3);
    assert_eq!(server.url("/a.txt"), format!("http://{}/a.txt", server.addr()));

    // Replacing a route at runtime takes effect on the next request.
    server.route("/a.txt", Reply::status(500));
    let (status, _, _) = raw_get(&server, "GET", "/a.txt");
    assert_eq!(status, "HTTP/1.1 500 Internal Server Error");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[0].target, "/a.txt?x=1");
    assert!(reqs[0].headers.iter().any(|(k, v)| k == "user-agent" && v == "selftest"));
}

#[test]
fn reqwest_sees_bodies_truncations_and_statuses() {
    let server = TestServer::start();
    let full = vec![42u8; 200_000];
    server.route("/full", Reply::ok(full.clone()));
    server.route("/cut", Reply::ok(full.clone()).truncate_at(50_000));
    server.route("/err", Reply::status(500));
    let client = reqwest::blocking::Client::new();
    let got = client.get(server.url("/full")).send().unwrap().bytes().unwrap();
    assert_eq!(got.len(), full.len());
    let resp = client.get(server.url("/cut")).send().unwrap();
    assert_eq!(resp.content_length(), Some(200_000));
    assert!(resp.bytes().is_err(), "a truncated body must be an error for reqwest");
    assert_eq!(client.get(server.url("/err")).send().unwrap().status().as_u16(), 500);
    // (reqwest's content_length() is the body size hint, 0 for HEAD; read the header.)
    let head = client.head(server.url("/full")).send().unwrap();
    assert_eq!(head.headers()["content-length"], "200000");
    assert_eq!(server.hits("/full"), 2);
    assert_eq!(server.bytes_sent("/full"), 200_000);
    assert_eq!(server.bytes_sent("/cut"), 50_000);
}

#[test]
fn unknown_paths_get_404() {
    let server = TestServer::start();
    let (status, _, body) = raw_get(&server, "GET", "/missing");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(!body.is_empty());
    assert_eq!(server.hits("/missing"), 1);
    assert_eq!(server.total_hits(), 1);

    server.route("/gone", Reply::ok("x"));
    server.unroute("/gone");
    assert_eq!(raw_get(&server, "GET", "/gone").0, "HTTP/1.1 404 Not Found");
}

#[test]
fn truncation_really_truncates() {
    let server = TestServer::start();
    let full: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    server.route("/big.bin", Reply::bytes(200, full.clone()).truncate_at(1234));
    let (status, headers, body) = raw_get(&server, "GET", "/big.bin");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(content_length(&headers), 10_000, "announces the full length");
    assert_eq!(body.len(), 1234, "but sends only the truncated prefix");
    assert_eq!(body, full[..1234]);
    assert_eq!(server.bytes_sent("/big.bin"), 1234);
}

#[test]
fn throttle_spreads_the_body_over_time() {
    let server = TestServer::start();
    let full = vec![7u8; 1000];
    server.route("/slow", Reply::ok(full.clone()).throttle(100, Duration::from_millis(30)));
    let started = Instant::now();
    let (_, _, body) = raw_get(&server, "GET", "/slow");
    assert_eq!(body, full);
    assert!(started.elapsed() >= Duration::from_millis(250), "took {:?}", started.elapsed());

    // Progress is observable mid-download, and a client that goes away stops it.
    server.route("/slower", Reply::ok(vec![1u8; 100_000]).throttle(1000, Duration::from_millis(20)));
    let mut s = TcpStream::connect(server.addr()).unwrap();
    write!(s, "GET /slower HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert!(wait_until(Duration::from_secs(5), || server.bytes_sent("/slower") >= 3000));
    drop(s);
    std::thread::sleep(Duration::from_millis(300));
    let sent = server.bytes_sent("/slower");
    assert!(sent < 100_000, "sent {sent}");
}

fn raw_paths(tar_bytes: &[u8]) -> Vec<(Vec<u8>, tar::EntryType)> {
    let mut archive = tar::Archive::new(tar_bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path_bytes().into_owned(), e.header().entry_type())
        })
        .collect()
}

#[test]
fn malicious_archive_really_contains_escaping_entries() {
    let long = format!("../{}/x", "d".repeat(120));
    let archive = Archive::new()
        .dir("pkg")
        .file("pkg/ok.txt", b"ok", 0o644)
        .raw_file("../escape", b"pwned", 0o644)
        .raw_file("/abs/escape", b"pwned", 0o644)
        .raw_file(long.as_bytes(), b"long", 0o644)
        .symlink("pkg/link", "../../etc/passwd")
        .hardlink("pkg/hard", "pkg/ok.txt")
        .char_device("pkg/null")
        .fifo("pkg/fifo");

    for bytes in [
        archive.tar(),
        {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(archive.tar_gz().as_slice()).read_to_end(&mut out).unwrap();
            out
        },
        {
            let mut out = Vec::new();
            liblzma::read::XzDecoder::new(archive.tar_xz().as_slice()).read_to_end(&mut out).unwrap();
            out
        },
    ] {
        let entries = raw_paths(&bytes);
        let names: Vec<String> = entries.iter().map(|(p, _)| String::from_utf8_lossy(p).into_owned()).collect();
        assert_eq!(
            names,
            [
                "pkg",
                "pkg/ok.txt",
                "../escape",
                "/abs/escape",
                long.as_str(),
                "pkg/link",
                "pkg/hard",
                "pkg/null",
                "pkg/fifo"
            ],
        );
        use tar::EntryType as T;
        let kinds: Vec<T> = entries.iter().map(|(_, k)| *k).collect();
        assert_eq!(
            kinds,
            [T::Directory, T::Regular, T::Regular, T::Regular, T::Regular, T::Symlink, T::Link, T::Char, T::Fifo]
        );
    }

    // Contents, modes and link targets survive.
    let tar_bytes = archive.tar();
    let mut a = tar::Archive::new(tar_bytes.as_slice());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        match name.as_str() {
            "../escape" => {
                let mut s = String::new();
                e.read_to_string(&mut s).unwrap();
                assert_eq!(s, "pwned");
            }
            "pkg/link" => assert_eq!(&*e.link_name_bytes().unwrap(), b"../../etc/passwd"),
            "pkg/hard" => assert_eq!(&*e.link_name_bytes().unwrap(), b"pkg/ok.txt"),
            "pkg/ok.txt" => assert_eq!(e.header().mode().unwrap() & 0o7777, 0o644),
            _ => {}
        }
    }

    // And tar's own safe unpacking refuses / skips the escaping entry.
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    let safe = Archive::new().raw_file("../escape", b"pwned", 0o644).tar();
    let _ = tar::Archive::new(safe.as_slice()).unpack(&inner);
    assert!(!dir.path().join("escape").exists());
}

#[test]
fn sha256_and_index() {
    assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let idx = envoy_index(&[
        ("1.35.0", "linux/amd64", "http://h/v1.35.0/envoy-v1.35.0-linux-amd64.tar.xz", "aa"),
        ("1.36.2", "linux/amd64", "http://h/v1.36.2/envoy-v1.36.2-linux-amd64.tar.xz", "bb"),
        ("1.36.2", "darwin/arm64", "http://h/v1.36.2/envoy-v1.36.2-darwin-arm64.tar.xz", "cc"),
        ("1.9.0", "linux/amd64", "http://h/v1.9.0/envoy-v1.9.0-linux-amd64.tar.xz", "dd"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&idx).unwrap();
    assert_eq!(v["latestVersion"], "1.36.2");
    assert_eq!(v["versions"]["1.36.2"]["releaseDate"], "2025-10-01");
    assert_eq!(
        v["versions"]["1.36.2"]["tarballs"]["darwin/arm64"],
        "http://h/v1.36.2/envoy-v1.36.2-darwin-arm64.tar.xz"
    );
    assert_eq!(v["versions"]["1.9.0"]["tarballs"]["linux/amd64"], "http://h/v1.9.0/envoy-v1.9.0-linux-amd64.tar.xz");
    assert_eq!(v["sha256sums"]["envoy-v1.36.2-linux-amd64.tar.xz"], "bb");
    assert_eq!(v["sha256sums"].as_object().unwrap().len(), 4);
}

#[test]
fn envoy_double_behaves_like_envoy() {
    let double = common::envoy_double_path();
    let out = Command::new(&double).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("version: 0.0.0/double/Clean/RELEASE"));

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&double).args(["-c"]).arg(dir.path().join("nope.yaml")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[critical] unable to read file:"));

    let config = dir.path().join("envoy.yaml");
    std::fs::write(&config, "admin: {}\n").unwrap();
    let addr_file = dir.path().join("admin-address.txt");
    let mut child = Command::new(&double)
        .arg("-c")
        .arg(&config)
        .arg("--admin-address-path")
        .arg(&addr_file)
        .args(["--log-level", "debug", "--concurrency", "2", "--double-exit-code", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || addr_file.exists()), "admin address file");
    let addr = std::fs::read_to_string(&addr_file).unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let get = |path: &str| {
        let mut s = TcpStream::connect(addr.trim()).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r
    };
    assert!(get("/ready").starts_with("HTTP/1.1 200"));
    assert!(get("/ready").ends_with("\r\n\r\nLIVE\n"));
    assert!(get("/config_dump").contains("\"bootstrap_text\": \"admin: {}\\n\""));
    assert!(get("/server_info").contains(&*config.to_string_lossy()));
    assert!(get("/nope").starts_with("HTTP/1.1 404"));
    assert!(get("/quitquitquit").starts_with("HTTP/1.1 200"));

    let status = wait_child(&mut child);
    assert_eq!(status.code(), Some(3));
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(stdout.starts_with("envoy-double started pid="), "{stdout}");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("[info] starting main dispatch loop"), "{stderr}");

    // SIGTERM exits with the configured code and logs like Envoy.
    let mut child = Command::new(&double)
        .args(["--double-no-admin", "--double-exit-code", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 8];
    child.stdout.as_mut().unwrap().read_exact(&mut line).unwrap(); // started (signal handlers installed)
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(wait_child(&mut child).code(), Some(4));
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("[warning] caught SIGTERM\n[info] shutting down"), "{stderr}");
    assert!(!stderr.contains("admin address"), "{stderr}");

    // Exits by itself after --double-exit-after-ms.
    let status = Command::new(&double)
        .args(["--double-no-admin", "--double-exit-after-ms", "100", "--double-exit-code", "9"])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(9));
}

fn wait_child(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("child did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
