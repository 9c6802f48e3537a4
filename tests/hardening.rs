//! What strangers serve cannot hang gw, fill the disk, take credentials elsewhere or escape
//! the build (docs/security.md). Every server here is a loopback stand-in built to misbehave;
//! timeouts are set to a second so each test is bounded.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use common::gw::{Gw, Run};
use common::{Archive, Reply, TestServer};

const TOP: &str = "envoy-v1.36.2-linux-amd64";

/// gw with one-second timeouts.
fn run(gw: &Gw, args: &[&str]) -> Run {
    gw.command(args).env("GW_HTTP_IDLE_TIMEOUT", "1").env("GW_HTTP_CONNECT_TIMEOUT", "1").output().unwrap().into()
}

fn index_path(gw: &Gw) -> String {
    gw.index_url().replace(&gw.server.base_url(), "")
}

/// An Envoy archive holding `binary` as bin/envoy, and what `extra` adds.
fn envoy_with(binary: &[u8], extra: impl FnOnce(Archive) -> Archive) -> Vec<u8> {
    extra(Archive::new().dir(TOP).dir(&format!("{TOP}/bin")).file(&format!("{TOP}/bin/envoy"), binary, 0o755)).tar_gz()
}

/// Nothing installed, nothing left in staging.
fn nothing_left(gw: &Gw) {
    assert!(gw.installed_dirs().is_empty(), "installed: {:?}", gw.installed_dirs());
    assert!(gw.staging_leftovers().is_empty(), "left: {:?}", gw.staging_leftovers());
}

fn timed(f: impl FnOnce() -> Run) -> (Run, Duration) {
    let started = Instant::now();
    let run = f();
    (run, started.elapsed())
}

#[test]
fn an_index_that_never_answers_times_out_naming_it() {
    let gw = Gw::new();
    gw.server.route(&index_path(&gw), Reply::silent(Duration::from_secs(60)));
    let (run, took) = timed(|| run(&gw, &["fetch", "1.36.2", "--source", "index"]));
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("timed out") && run.stderr.contains(&gw.index_url()), "{}", run.stderr);
    // Three tries of one second each, and the pauses between them.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_tarball_that_stalls_after_its_headers_times_out_and_leaves_nothing() {
    let gw = Gw::new();
    let path = gw.publish_envoy("1.36.2", b"envoy");
    gw.server.route(&path, Reply::ok(vec![7u8; 4096]).stall_after(100, Duration::from_secs(60)));
    let (run, took) = timed(|| run(&gw, &["fetch", "1.36.2", "--source", "index"]));
    run.fails_with(1, "timed out: the server sent nothing for 1 s");
    assert!(run.stderr.contains("GW_HTTP_IDLE_TIMEOUT"), "{}", run.stderr);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    nothing_left(&gw);
}

#[test]
fn an_endless_index_is_refused_at_its_cap_not_called_offline() {
    let gw = Gw::new();
    gw.server.route(&index_path(&gw), Reply::ok(b"{\"versions\":{".to_vec()).endless());
    let run = run(&gw, &["versions", "--all", "--source", "index"]);
    run.fails_with(1, "is larger than the 32 MiB gw reads");
    assert!(!run.stderr.contains("offline") && !run.stderr.contains("could not reach"), "{}", run.stderr);
}

#[test]
fn an_endless_tarball_stops_at_the_unpack_cap() {
    let gw = Gw::new();
    let path = gw.publish_envoy("1.36.2", b"envoy");
    gw.server.route(&path, Reply::ok(vec![1u8; 64 * 1024]).endless());
    let run: Run = gw
        .command(&["fetch", "1.36.2", "--source", "index"])
        .env("GW_MAX_UNPACKED", "4000000")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(gw.server.bytes_sent(&path) < 64 << 20, "sent {}", gw.server.bytes_sent(&path));
    nothing_left(&gw);
}

/// A tar.gz of one file of `size` zero bytes (a multiple of 1 MiB): gzip members one after
/// another, the same compressed MiB of zeros repeated, so it is made in milliseconds.
fn zeros_tar_gz(size: u64) -> Vec<u8> {
    let member = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    };
    let mut header = tar::Header::new_gnu();
    header.set_path(format!("{TOP}/bin/envoy")).unwrap();
    header.set_size(size);
    header.set_mode(0o755);
    header.set_cksum();
    let mut out = member(header.as_bytes());
    let mib = member(&vec![0u8; 1 << 20]);
    for _ in 0..size >> 20 {
        out.extend_from_slice(&mib);
    }
    out.extend_from_slice(&member(&[0u8; 1024])); // the archive's end
    out
}

#[test]
fn a_decompression_bomb_is_refused_before_it_fills_the_disk() {
    let gw = Gw::new();
    let bomb = zeros_tar_gz(1 << 30);
    assert!(bomb.len() < 2 << 20, "the bomb is {} bytes", bomb.len());
    gw.publish_envoy_bytes("1.36.2", "tar.gz", bomb, None);
    let run = run(&gw, &["fetch", "1.36.2", "--source", "index"]);
    run.fails_with(1, "a decompression bomb");
    assert!(run.stderr.contains("nothing was installed"), "{}", run.stderr);
    nothing_left(&gw);
}

#[test]
fn an_archive_larger_than_the_cap_is_refused_at_its_header() {
    let gw = Gw::new();
    gw.publish_envoy_bytes("1.36.2", "tar.gz", zeros_tar_gz(8 << 20), None);
    let run: Run = gw
        .command(&["fetch", "1.36.2", "--source", "index"])
        .env("GW_MAX_UNPACKED", "1000000")
        .output()
        .unwrap()
        .into();
    run.fails_with(1, "unpacks to more than");
    assert!(run.stderr.contains("GW_MAX_UNPACKED"), "{}", run.stderr);
    nothing_left(&gw);
}

#[test]
fn a_deeply_nested_archive_is_refused_quickly() {
    let gw = Gw::new();
    let archive = envoy_with(b"envoy", |mut archive| {
        let mut path = TOP.to_string();
        for _ in 0..2000 {
            path.push_str("/d");
            archive = archive.raw_dir(path.as_bytes());
        }
        archive
    });
    gw.publish_envoy_bytes("1.36.2", "tar.gz", archive, None);
    let (run, took) = timed(|| run(&gw, &["fetch", "1.36.2", "--source", "index"]));
    run.fails_with(1, "is nested more than 64 directories deep");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    nothing_left(&gw);
}

#[test]
fn an_archive_cannot_write_the_install_record_through_a_link() {
    let gw = Gw::new();
    let archive = envoy_with(b"the real envoy", |a| a.symlink(&format!("{TOP}/.gw-build.json"), "bin/envoy"));
    gw.publish_envoy_bytes("1.36.2", "tar.gz", archive, None);
    run(&gw, &["fetch", "1.36.2", "--source", "index"]).ok();
    let binary = gw.installed("standard", "1.36.2", "envoy");
    assert_eq!(std::fs::read(&binary).unwrap(), b"the real envoy");
    let marker = binary.parent().unwrap().parent().unwrap().join(".gw-build.json");
    assert!(std::fs::symlink_metadata(&marker).unwrap().is_file());
    run(&gw, &["which", "1.36.2"]).ok();
}

#[test]
fn a_link_that_climbs_out_of_the_kept_directory_is_refused() {
    let gw = Gw::new();
    // Inside what was unpacked, but above the single top directory gw keeps as the build.
    let archive = envoy_with(b"envoy", |a| a.symlink(&format!("{TOP}/bin/up"), "../.."));
    gw.publish_envoy_bytes("1.36.2", "tar.gz", archive, None);
    let run = run(&gw, &["fetch", "1.36.2", "--source", "index"]);
    run.fails_with(1, "outside the build");
    nothing_left(&gw);
}

#[test]
fn ctrl_c_during_an_install_removes_its_staging_directory() {
    let gw = Gw::new();
    let path = gw.publish_envoy("1.36.2", b"envoy");
    // Bytes that do not compress, so the download takes a while at this pace.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..256 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let archive = common::gw::envoy_archive("1.36.2", &noise).tar_xz();
    gw.list_in_index("1.36.2", "linux/amd64", &gw.server.url(&path), &common::sha256_hex(&archive));
    gw.server.route(&path, Reply::ok(archive).throttle(1024, Duration::from_millis(20)));
    let mut child = gw.command(&["fetch", "1.36.2", "--source", "index"]).spawn().unwrap();
    let started = Instant::now();
    while gw.staging_leftovers().is_empty() || gw.server.bytes_sent(&path) < 4096 {
        assert!(started.elapsed() < Duration::from_secs(30), "the install never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    nothing_left(&gw);
}

#[test]
fn file_urls_say_the_file_is_missing_and_take_localhost() {
    let gw = Gw::new();
    let missing = gw.root.path().join("nowhere.json");
    let url = format!("file://{}", missing.display());
    let run: Run = gw
        .command(&["versions", "--all", "--source", "index"])
        .env("GW_ENVOY_VERSIONS_URL", &url)
        .output()
        .unwrap()
        .into();
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("there is no file") && !run.stderr.contains("answered 404"), "{}", run.stderr);

    let index = gw.root.path().join("index.json");
    std::fs::write(&index, common::envoy_index(&[])).unwrap();
    let url = format!("file://localhost{}", index.display());
    let run: Run = gw
        .command(&["versions", "--all", "--source", "index"])
        .env("GW_ENVOY_VERSIONS_URL", &url)
        .output()
        .unwrap()
        .into();
    run.ok();
}

#[test]
fn a_limit_that_is_not_a_number_is_a_usage_error() {
    let gw = Gw::new();
    let run: Run = gw.command(&["fetch", "1.36.2"]).env("GW_HTTP_IDLE_TIMEOUT", "soon").output().unwrap().into();
    run.fails_with(2, "GW_HTTP_IDLE_TIMEOUT is set to 'soon'");
}

// ---- registries: where credentials go ----

/// A DOCKER_CONFIG with a login for `registry`.
fn docker_config(gw: &Gw, registry: &str) -> std::path::PathBuf {
    let dir = gw.root.path().join("docker");
    std::fs::create_dir_all(&dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    let config = format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#);
    std::fs::write(dir.join("config.json"), config).unwrap();
    dir
}

/// `gw pull <registry>/acme/f:1.0 --insecure` with a login for the registry, and `env`.
fn pull(gw: &Gw, registry: &TestServer, env: &[(&str, &str)]) -> Run {
    let config = docker_config(gw, &host(registry));
    let target = format!("{}/acme/f:1.0", host(registry));
    let mut command = gw.command(&["pull", &target, "--insecure"]);
    command.env("DOCKER_CONFIG", &config).envs(env.iter().copied());
    command.output().unwrap().into()
}

fn basic_challenge() -> Reply {
    Reply::status(401).header("WWW-Authenticate", "Basic realm=\"registry\"")
}

fn host(server: &TestServer) -> String {
    server.addr().to_string()
}

fn no_authorization(server: &TestServer) {
    for request in server.requests() {
        assert!(request.header("authorization").is_none(), "{} {} carried credentials", request.method, request.path);
    }
}

#[test]
fn push_sends_no_credentials_to_an_upload_location_elsewhere() {
    let gw = Gw::new();
    let registry = TestServer::start();
    let elsewhere = TestServer::start();
    let upload = elsewhere.url("/upload/1");
    registry.route_guarded(
        "/v2/acme/f/blobs/uploads/",
        basic_challenge(),
        Reply::status(202).header("Location", &upload),
    );
    registry.route_guarded("/v2/acme/f/manifests/1.0", basic_challenge(), Reply::status(201));
    elsewhere.route("/upload/1", Reply::status(201));
    let wasm = gw.work().join("f.wasm");
    std::fs::write(&wasm, common::wasm_module::module(10)).unwrap();
    let config = docker_config(&gw, &host(&registry));
    let target = format!("{}/acme/f:1.0", host(&registry));
    let run: Run = gw
        .command(&["push", &target, "--wasm", "f.wasm", "--insecure"])
        .env("DOCKER_CONFIG", &config)
        .output()
        .unwrap()
        .into();
    run.ok();
    assert!(elsewhere.hits("/upload/1") >= 2, "the blobs went to the upload location");
    no_authorization(&elsewhere);
    let authorized = registry.requests().iter().filter(|r| r.header("authorization").is_some()).count();
    assert!(authorized > 0, "the registry itself got the login");
}

/// A Wasm artifact manifest whose one layer is `layer` (`size` as the descriptor gives it).
fn wasm_manifest(layer: &[u8], size: usize) -> String {
    let digest = common::sha256_hex(layer);
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
        "config":{{"mediaType":"application/vnd.module.wasm.config.v1+json","digest":"sha256:{empty}","size":2}},
        "layers":[{{"mediaType":"application/vnd.module.wasm.content.layer.v1+wasm","digest":"sha256:{digest}","size":{size}}}]}}"#,
        empty = common::sha256_hex(b"{}")
    )
}

fn route_manifest(registry: &TestServer, manifest: &str) {
    let reply =
        Reply::ok(manifest.as_bytes().to_vec()).header("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    registry.route_guarded("/v2/acme/f/manifests/1.0", basic_challenge(), reply);
}

#[test]
fn a_redirect_target_that_asks_for_a_login_gets_none() {
    let gw = Gw::new();
    let registry = TestServer::start();
    let cdn = TestServer::start();
    let realm = TestServer::start();
    let wasm = common::wasm_module::module(10);
    route_manifest(&registry, &wasm_manifest(&wasm, wasm.len()));
    let blob = format!("/v2/acme/f/blobs/sha256:{}", common::sha256_hex(&wasm));
    registry.route_guarded(&blob, basic_challenge(), Reply::redirect(&cdn.url("/blob")));
    let bearer = format!("Bearer realm=\"{}\",service=\"cdn\"", realm.url("/token"));
    cdn.route("/blob", Reply::status(401).header("WWW-Authenticate", &bearer));
    realm.route("/token", Reply::ok(br#"{"token":"stolen"}"#.to_vec()));
    let run = pull(&gw, &registry, &[]);
    run.fails_with(1, &cdn.url("/blob"));
    assert!(run.stderr.contains("redirected"), "{}", run.stderr);
    assert!(!run.stderr.contains("refused access"), "{}", run.stderr);
    assert_eq!(realm.total_hits(), 0, "the redirect target's token service was asked");
    no_authorization(&cdn);
}

#[test]
fn a_token_service_over_plain_http_on_another_host_gets_no_login() {
    let gw = Gw::new();
    let registry = TestServer::start();
    let realm = TestServer::start();
    // The registry is 127.0.0.1; its challenge names another host, over plain HTTP.
    let elsewhere = format!("http://localhost:{}/token", realm.addr().port());
    let challenge =
        Reply::status(401).header("WWW-Authenticate", &format!("Bearer realm=\"{elsewhere}\",service=\"r\""));
    registry.route_guarded("/v2/acme/f/manifests/1.0", challenge, Reply::status(404));
    let run = pull(&gw, &registry, &[]);
    run.fails_with(1, "plain HTTP on another host");
    assert_eq!(realm.total_hits(), 0);
}

#[test]
fn a_blob_longer_than_its_descriptor_is_refused_with_sizes() {
    let gw = Gw::new();
    let registry = TestServer::start();
    let wasm = common::wasm_module::module(10);
    route_manifest(&registry, &wasm_manifest(&wasm, wasm.len() - 5));
    let blob = format!("/v2/acme/f/blobs/sha256:{}", common::sha256_hex(&wasm));
    registry.route(&blob, Reply::ok(vec![0u8; 64 * 1024]).endless());
    let run = pull(&gw, &registry, &[]);
    run.fails_with(1, &format!("more than the {} bytes its descriptor gives", wasm.len() - 5));
    assert!(registry.bytes_sent(&blob) < 16 << 20);
}

#[test]
fn pull_refuses_a_module_over_its_cap_before_reading_it() {
    let gw = Gw::new();
    let registry = TestServer::start();
    let wasm = common::wasm_module::module(4000);
    route_manifest(&registry, &wasm_manifest(&wasm, wasm.len()));
    let run = pull(&gw, &registry, &[("GW_MAX_MODULE", "1000")]);
    run.fails_with(1, "larger than the 1000 bytes gw accepts");
    assert!(run.stderr.contains("GW_MAX_MODULE"), "{}", run.stderr);
}

#[test]
fn a_mirror_that_wants_a_login_is_named_as_itself() {
    let gw = Gw::new();
    let mirror = TestServer::start();
    mirror.route_guarded("/v2/envoyproxy/envoy/manifests/v1.15.0", basic_challenge(), Reply::status(404));
    let run: Run = gw
        .command(&["fetch", "standard:1.15.0", "--source", "image"])
        .env("GW_REGISTRY_MIRROR", mirror.base_url())
        .output()
        .unwrap()
        .into();
    run.fails_with(1, &format!("{} refused access", host(&mirror)));
    assert!(run.stderr.contains(&format!("docker login {}", host(&mirror))), "{}", run.stderr);
    assert!(!run.stderr.contains("docker.io refused"), "{}", run.stderr);
}

// ---- what users write ----

#[test]
fn init_force_does_not_write_through_a_link() {
    let gw = Gw::new();
    let project = gw.work().join("shop");
    let elsewhere = gw.root.path().join("elsewhere");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(project.join("notes.txt"), "mine").unwrap();
    std::os::unix::fs::symlink(&elsewhere, project.join("scenarios")).unwrap();
    let run = gw.run(&["init", "-t", "http-filter", "--accept-defaults", "--force", "shop"]);
    run.fails_with(2, "is a symbolic link; gw does not write");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "written through the link");
    let left: Vec<_> = std::fs::read_dir(&project).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "nothing else written: {left:?}");
}

#[test]
fn template_values_that_would_break_the_code_are_refused() {
    let gw = Gw::new();
    let run = gw.run(&["init", "-t", "http-filter", "--accept-defaults", "-d", "value=a\"b\\c", "shop"]);
    run.fails_with(2, "does not match the pattern");
    assert!(!gw.work().join("shop").exists());
}

#[test]
fn deeply_nested_yaml_is_refused_in_under_a_second() {
    let gw = Gw::new();
    let file = gw.work().join("deep.yaml");
    let mut out = std::fs::File::create(&file).unwrap();
    writeln!(out, "admin: {}", "[".repeat(200_000)).unwrap();
    let (run, took) = timed(|| gw.run(&["validate", "deep.yaml"]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.contains("deep.yaml:1: the document nests more than 64 levels"), "{}", run.stdout);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn deploy_out_naming_a_file_says_so() {
    let gw = Gw::new();
    gw.run(&["init", "-t", "http-filter", "--accept-defaults", "shop"]).ok();
    let project = gw.work().join("shop");
    std::fs::create_dir_all(project.join("target/gw")).unwrap();
    std::fs::write(project.join("target/gw/shop.wasm"), common::wasm_module::module(0)).unwrap();
    std::fs::write(project.join("a-file"), "").unwrap();
    let run: Run = gw
        .command(&["deploy", "cilium", "--service", "checkout", "--out", "a-file"])
        .current_dir(&project)
        .output()
        .unwrap()
        .into();
    run.fails_with(2, "--out");
    assert!(run.stderr.contains("is a file"), "{}", run.stderr);
    assert!(Path::new(&project.join("a-file")).is_file());
}
