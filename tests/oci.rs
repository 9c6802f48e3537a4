//! Builds read out of container images, and Wasm artifacts pushed and
//! pulled, against a real registry on loopback (Debian's docker-registry).
//! Images are made by the tests as OCI layouts and copied in with skopeo,
//! or with `docker import` + `docker push`. No test reaches the internet.

mod common;

use std::process::Command;

use base64::Engine;

use common::gw::{Gw, Run};
use common::oci_layout::{Layout, Zip};
use common::registry::{self, Auth, Registry};
use common::sha256_hex;
use common::token_service::{Grant, IDENTITY_TOKEN, TokenService};
use common::wasm_module::module;

const ENVOY: &str = "usr/local/bin/envoy";

/// gw reading images from `registry` (as the mirror of docker.io and quay.io).
fn fetch(gw: &Gw, registry: &Registry, args: &[&str]) -> Run {
    gw.command(args).env("GW_REGISTRY_MIRROR", registry.url()).output().unwrap().into()
}

/// Publishes a one-platform image holding `files` as `repo:tag`; returns its manifest digest.
fn publish(registry: &Registry, repo: &str, tag: &str, os: &str, arch: &str, layers: &[&[(&str, &[u8])]]) -> String {
    let layout = Layout::new();
    let image = layout.image(os, arch, layers);
    let digest = image["digest"].as_str().unwrap().to_string();
    layout.tag(tag, image);
    registry.copy_in(layout.path(), tag, &format!("{repo}:{tag}"));
    digest
}

#[test]
fn fetch_takes_the_platform_binary_out_of_a_two_platform_index_and_pins_the_digest() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let layout = Layout::new();
    let amd64_envoy = b"#!/bin/sh\necho envoy-amd64 \"$@\"\n";
    let amd64 = layout.image(
        "linux",
        "amd64",
        &[&[(ENVOY, b"#!/bin/sh\necho stale base layer\n"), ("etc/envoy/envoy.yaml", b"{}")], &[(ENVOY, amd64_envoy)]],
    );
    let arm64 = layout.image("linux", "arm64", &[&[(ENVOY, b"arm64 envoy")]]);
    let index = layout.index(vec![amd64, arm64]);
    let index_digest = index["digest"].as_str().unwrap().to_string();
    layout.tag("v1.14.9", index);
    registry.copy_in(layout.path(), "v1.14.9", "envoyproxy/envoy:v1.14.9");

    let gw = Gw::new();
    std::fs::write(gw.work().join("gw.toml"), "# a gw project\n").unwrap();
    // The index has no 1.14.9, so it comes from docker.io/envoyproxy/envoy:v1.14.9 (here, the mirror).
    let run = fetch(&gw, &registry, &["fetch", "standard:1.14.9"]);
    run.ok();
    let binary = gw.installed("standard", "1.14.9", "envoy");
    assert_eq!(std::fs::read(&binary).unwrap(), amd64_envoy, "the top layer's file, for amd64");
    let out = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "envoy-amd64 --version\n", "installed executable");
    let hex = index_digest.trim_start_matches("sha256:");
    let lock = std::fs::read_to_string(gw.work().join("gw.lock")).unwrap();
    assert!(lock.contains(hex) && lock.contains("docker.io/envoyproxy/envoy:v1.14.9@sha256:"), "{lock}");

    let run = fetch(&gw, &registry, &["fetch", "standard:1.14.9/linux/arm64"]);
    run.ok();
    let arm = gw.home().join("builds/standard/1.14.9/linux-arm64/bin/envoy");
    assert_eq!(std::fs::read(arm).unwrap(), b"arm64 envoy");
    // A digest in the reference must match what is installed.
    fetch(&gw, &registry, &["fetch", &format!("standard:1.14.9@{index_digest}")]).ok();
    let wrong = format!("standard:1.14.9@sha256:{}", "0".repeat(64));
    fetch(&gw, &registry, &["fetch", &wrong]).fails_with(1, "the reference pins sha256:0000");

    // The tag now names other bytes: gw.lock refuses them, naming both digests.
    let moved = publish(&registry, "envoyproxy/envoy", "v1.14.9", "linux", "amd64", &[&[(ENVOY, b"other")]]);
    std::fs::remove_dir_all(gw.home()).unwrap();
    let run = fetch(&gw, &registry, &["fetch", "standard:1.14.9"]);
    run.fails_with(1, "is pinned in");
    assert!(run.stderr.contains(hex) && run.stderr.contains(moved.trim_start_matches("sha256:")), "{}", run.stderr);
    assert!(gw.installed_dirs().is_empty());
}

#[test]
fn gw_run_standard_1_15_0_runs_the_envoy_read_out_of_its_image() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    // Envoy itself cannot be had here: the image holds the envoy double (tests/envoy-double).
    let envoy = format!("#!/bin/sh\nexec '{}' \"$@\"\n", common::envoy_double_path().display());
    let layers: &[&[(&str, &[u8])]] = &[&[("etc/envoy/envoy.yaml", b"{}")], &[(ENVOY, envoy.as_bytes())]];
    publish(&registry, "envoyproxy/envoy", "v1.15.0", "linux", "amd64", layers);
    let gw = Gw::new();
    let admin = "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n";
    std::fs::write(gw.work().join("envoy.yaml"), admin).unwrap();

    let mut command = gw.command(&["run", "standard:1.15.0", "--", "-c", "envoy.yaml"]);
    command.env("GW_REGISTRY_MIRROR", registry.url());
    let mut run = common::running::Running::spawn(command);
    run.expect("installed standard:1.15.0/linux/amd64");
    run.expect("envoy is ready; admin at http://127.0.0.1:");
    run.signal(libc::SIGINT);
    let (code, output) = run.wait();
    assert_eq!(code, 0, "{output}");
}

#[test]
fn a_dropped_connection_is_tried_again() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    publish(&registry, "envoyproxy/envoy", "v1.14.2", "linux", "amd64", &[&[(ENVOY, b"after a retry")]]);
    let flaky = common::flaky::Flaky::start(registry.port, 1);
    let gw = Gw::new();
    let run: Run = gw
        .command(&["fetch", "standard:1.14.2"])
        .env("GW_REGISTRY_MIRROR", format!("http://127.0.0.1:{}", flaky.port))
        .output()
        .unwrap()
        .into();
    run.ok();
    assert!(run.stderr.contains("retrying docker.io/envoyproxy/envoy:v1.14.2 (attempt 2)"), "{}", run.stderr);
    assert_eq!(std::fs::read(gw.installed("standard", "1.14.2", "envoy")).unwrap(), b"after a retry");
}

#[test]
fn a_tampered_layer_is_refused_and_nothing_is_installed() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let layout = Layout::new();
    let image = layout.image("linux", "amd64", &[&[(ENVOY, &[7u8; 4096])]]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.blob_path(image["digest"].as_str().unwrap())).unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_string();
    layout.tag("v1.14.5", image);
    registry.copy_in(layout.path(), "v1.14.5", "envoyproxy/envoy:v1.14.5");
    // Flip bytes in the stored layer; the registry serves what it has on disk.
    let stored = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&stored).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&stored, bytes).unwrap();

    let gw = Gw::new();
    let run = fetch(&gw, &registry, &["fetch", "standard:1.14.5"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(&layer) && run.stderr.contains("refusing it"), "{}", run.stderr);
    assert!(gw.installed_dirs().is_empty());
    assert!(gw.staging_leftovers().is_empty(), "{:?}", gw.staging_leftovers());
}

#[test]
fn fetch_reads_zstd_layers_of_several_frames() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let layout = Layout::new();
    // The filler puts the binary in the layer's second zstd frame.
    let filler = vec![7u8; 64 * 1024];
    let image = layout.image_zipped(
        "linux",
        "amd64",
        &[(&[(ENVOY, b"gzip base")], Zip::Gzip), (&[("etc/filler", &filler), (ENVOY, b"zstd top")], Zip::Zstd)],
    );
    layout.tag("v1.14.5", image);
    registry.copy_in(layout.path(), "v1.14.5", "envoyproxy/envoy:v1.14.5");
    let raw = String::from_utf8(registry.raw_manifest("envoyproxy/envoy:v1.14.5")).unwrap();
    assert!(raw.contains(Zip::Zstd.media_type()), "the registry keeps the zstd layer: {raw}");

    let gw = Gw::new();
    fetch(&gw, &registry, &["fetch", "standard:1.14.5"]).ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.14.5", "envoy")).unwrap(), b"zstd top");
}

#[test]
fn a_missing_platform_a_missing_file_and_a_whiteout_are_named() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let layout = Layout::new();
    let arm64 = layout.image("linux", "arm64", &[&[(ENVOY, b"arm")]]);
    let index = layout.index(vec![arm64]);
    layout.tag("v1.14.8", index);
    registry.copy_in(layout.path(), "v1.14.8", "envoyproxy/envoy:v1.14.8");
    publish(&registry, "envoyproxy/envoy", "v1.14.7", "linux", "amd64", &[&[("bin/sh", b"x")]]);
    let deleted: &[&[(&str, &[u8])]] = &[&[(ENVOY, b"envoy")], &[("usr/local/bin/.wh.envoy", b"")]];
    publish(&registry, "envoyproxy/envoy", "v1.14.6", "linux", "amd64", deleted);
    // An opaque whiteout hides everything below in its directory.
    let opaque: &[&[(&str, &[u8])]] = &[&[(ENVOY, b"envoy")], &[("usr/local/.wh..wh..opq", b"")], &[("etc/x", b"")]];
    publish(&registry, "envoyproxy/envoy", "v1.14.1", "linux", "amd64", opaque);
    publish(&registry, "envoyproxy/envoy", "v1.14.4", "linux", "arm64", &[&[(ENVOY, b"envoy")]]);

    let gw = Gw::new();
    fetch(&gw, &registry, &["fetch", "standard:1.14.8"])
        .fails_with(2, "docker.io/envoyproxy/envoy:v1.14.8 has no image for linux/amd64; it has: linux/arm64");
    fetch(&gw, &registry, &["fetch", "standard:1.14.7"])
        .fails_with(1, "has no file /usr/local/bin/envoy: none of its 1 layers holds it");
    fetch(&gw, &registry, &["fetch", "standard:1.14.6"]).fails_with(1, "layer 2 of 2");
    fetch(&gw, &registry, &["fetch", "standard:1.14.1"]).fails_with(1, "layer 2 of 3");
    // A single-platform image says its platform in its config.
    fetch(&gw, &registry, &["fetch", "standard:1.14.4"]).fails_with(2, "it has: linux/arm64");
    fetch(&gw, &registry, &["fetch", "standard:1.14.3"])
        .fails_with(2, "docker.io/envoyproxy/envoy:v1.14.3 does not exist and is not in the Envoy index");
    assert!(gw.installed_dirs().is_empty());
    assert!(gw.staging_leftovers().is_empty(), "{:?}", gw.staging_leftovers());
}

#[test]
fn cilium_envoy_comes_from_its_tag_and_the_catalogue_digest_is_enforced() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let cilium: &[&[(&str, &[u8])]] = &[&[("usr/bin/cilium-envoy", b"cilium envoy")]];
    publish(&registry, "cilium/cilium-envoy", "v1.99.1-1700000000-0123abcd", "linux", "amd64", cilium);
    let gw = Gw::new();
    fetch(&gw, &registry, &["fetch", "cilium:1.99.1-1700000000-0123abcd"]).ok();
    assert_eq!(std::fs::read(gw.installed("cilium", "1.99.1", "cilium-envoy")).unwrap(), b"cilium envoy");
    let which = fetch(&gw, &registry, &["which", "cilium:1.99.1"]);
    assert!(which.ok().stdout.trim_end().ends_with("cilium/1.99.1/linux-amd64/bin/cilium-envoy"), "{}", which.stdout);

    // gw's catalogue pins cilium:1.31.5 to the digest upstream published; these bytes are refused.
    let tag = "v1.31.5-1739264036-958bef243c6c66fcfd73ca319f2eb49fff1eb2ae";
    let actual = publish(&registry, "cilium/cilium-envoy", tag, "linux", "amd64", cilium);
    let run = fetch(&gw, &registry, &["fetch", "cilium:1.31"]);
    run.fails_with(1, "gw's catalogue");
    assert!(
        run.stderr.contains("sha256:fc708bd36973d306412b2e50c924cd8333de67e0167802c9b48506f9d772f521")
            && run.stderr.contains(&actual),
        "{}",
        run.stderr
    );
    assert!(!gw.home().join("builds/cilium/1.31.5").exists());
}

#[test]
fn images_pushed_by_docker_are_read_too() {
    let Some(_docker) = common::docker::require() else { return };
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let dir = tempfile::tempdir().unwrap();
    let rootfs = common::Archive::new()
        .dir("usr")
        .dir("usr/local")
        .dir("usr/local/bin")
        .file(ENVOY, b"#!/bin/sh\necho docker-made\n", 0o755)
        .tar();
    let tar = dir.path().join("rootfs.tar");
    std::fs::write(&tar, rootfs).unwrap();
    let image = format!("{}/envoyproxy/envoy:v1.13.9", registry.host());
    let docker = |args: &[&str]| {
        let out = Command::new("docker").args(args).output().unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    docker(&["import", tar.to_str().unwrap(), &image]);
    docker(&["push", "--quiet", &image]);
    docker(&["rmi", &image]);

    let gw = Gw::new();
    fetch(&gw, &registry, &["fetch", "standard:1.13.9"]).ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.13.9", "envoy")).unwrap(), b"#!/bin/sh\necho docker-made\n");
}

/// A gw fixture with `module(padding)` written as filter.wasm in its working directory.
fn gw_with_module(padding: usize) -> (Gw, Vec<u8>) {
    let gw = Gw::new();
    let wasm = module(padding);
    std::fs::write(gw.work().join("filter.wasm"), &wasm).unwrap();
    (gw, wasm)
}

#[test]
fn push_then_pull_returns_the_same_module_as_an_istio_compatible_artifact() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let (gw, wasm) = gw_with_module(3000);
    let target = format!("oci://{}/acme/auth-filter:0.1.0", registry.host());
    let run = gw.run(&["push", &target, "--wasm", "filter.wasm", "--insecure"]);
    run.ok();
    let pushed = run.stdout.trim();
    let (name, digest) = pushed.split_once('@').expect("the digest is printed");
    assert_eq!(name, format!("{}/acme/auth-filter:0.1.0", registry.host()));

    let raw = registry.raw_manifest("acme/auth-filter:0.1.0");
    assert_eq!(format!("sha256:{}", sha256_hex(&raw)), digest, "the printed digest is the manifest's");
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.module.wasm.config.v1+json");
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.module.wasm.content.layer.v1+wasm");
    assert_eq!(manifest["layers"][0]["annotations"]["org.opencontainers.image.title"], "plugin.wasm");
    assert_eq!(manifest["layers"][0]["digest"], format!("sha256:{}", sha256_hex(&wasm)));
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(registry.blob_file(config_digest)).unwrap()).unwrap();
    assert_eq!(config["type"], "envoy_proxy");
    assert_eq!(config["abiVersions"], serde_json::json!(["v0.2.1"]));
    assert_eq!(config["config"]["rootIds"], serde_json::json!([]));

    gw.run(&["pull", &target, "-o", "back.wasm", "--insecure"]).ok();
    assert_eq!(std::fs::read(gw.work().join("back.wasm")).unwrap(), wasm);
    // By digest, to the default file name.
    gw.run(&["pull", &format!("{name}@{digest}"), "--insecure"]).ok();
    assert_eq!(std::fs::read(gw.work().join("auth-filter.wasm")).unwrap(), wasm);

    // The wasm image spec's "compat" variant: an ordinary image with /plugin.wasm in a layer.
    publish(&registry, "acme/compat", "1", "linux", "amd64", &[&[("plugin.wasm", &wasm)], &[("etc/x", b"")]]);
    gw.run(&["pull", &format!("{}/acme/compat:1", registry.host()), "--insecure"]).ok();
    assert_eq!(std::fs::read(gw.work().join("compat.wasm")).unwrap(), wasm);

    // Clear errors for what cannot work.
    std::fs::write(gw.work().join("not.wasm"), b"hello").unwrap();
    gw.run(&["push", &target, "--wasm", "not.wasm", "--insecure"]).fails_with(2, "not a WebAssembly module");
    gw.run(&["push", &target, "--wasm", "filter.wasm"]).fails_with(1, "--insecure");
    gw.run(&["pull", &format!("{}/acme/auth-filter:9.9", registry.host()), "--insecure"])
        .fails_with(2, "the registry has no manifest 9.9");
    gw.run(&["push", "Acme/Filter", "--wasm", "filter.wasm"]).fails_with(2, "is not an image reference");
}

#[test]
fn push_without_wasm_takes_the_projects_build_and_refuses_a_stale_one() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let (_dir, project) = common::docker::fixture("wasm-filter");
    let gw = Gw::new();
    let target = format!("{}/acme/wasm-filter:dev", registry.host());
    let push = |gw: &Gw| -> Run {
        gw.command(&["push", &target, "--insecure"]).current_dir(&project).output().unwrap().into()
    };

    push(&gw).fails_with(1, "target/gw/wasm_filter.wasm does not exist; run `gw build` first");
    // A build newer than every source, as `gw build` leaves it.
    std::fs::create_dir_all(project.join("target/gw")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let wasm = module(10);
    std::fs::write(project.join("target/gw/wasm_filter.wasm"), &wasm).unwrap();
    push(&gw).ok();
    gw.run(&["pull", &target, "--insecure", "-o", "pulled.wasm"]).ok();
    assert_eq!(std::fs::read(gw.work().join("pulled.wasm")).unwrap(), wasm);

    // An edit after the build makes it stale.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let lib = project.join("src/lib.rs");
    std::fs::write(&lib, std::fs::read_to_string(&lib).unwrap() + "\n// edited\n").unwrap();
    push(&gw).fails_with(1, "is older than the sources");
}

/// `docker-credential-<name>` in a directory of its own, speaking the helper
/// protocol: `get` with `server` on stdin answers the login. Returns a PATH with it first.
fn credential_helper(gw: &Gw, name: &str, server: &str, username: &str, secret: &str) -> String {
    let helpers = gw.root.path().join("helpers");
    std::fs::create_dir_all(&helpers).unwrap();
    let helper = helpers.join(format!("docker-credential-{name}"));
    let answer = serde_json::json!({ "ServerURL": server, "Username": username, "Secret": secret });
    let script = format!(
        "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = {server} ] && echo '{answer}' && exit 0\n\
         echo 'credentials not found in native keychain'\nexit 1\n"
    );
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    format!("{}:{}", helpers.display(), common::require::path_var())
}

/// A DOCKER_CONFIG directory under the fixture holding `config`.
fn docker_config(gw: &Gw, name: &str, config: serde_json::Value) -> std::path::PathBuf {
    let dir = gw.root.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn identity_tokens_are_exchanged_at_the_token_service() {
    if !registry::available() {
        return;
    }
    let tokens = TokenService::start();
    let registry = Registry::start(Auth::Token(&tokens));
    let (gw, _) = gw_with_module(100);
    let target = format!("{}/acme/identity:1", registry.host());
    let push = ["push", target.as_str(), "--wasm", "filter.wasm", "--insecure"];
    let refresh_grants = || {
        let requests = tokens.requests.lock().unwrap();
        requests
            .iter()
            .filter(|r| **r == ("repository:acme/identity:pull,push".to_string(), Grant::RefreshToken))
            .count()
    };

    // As `az acr login` writes it: an all-zero user with no password, and the identity token.
    let empty_user = base64::engine::general_purpose::STANDARD.encode("00000000-0000-0000-0000-000000000000:");
    let entry = |token: &str| serde_json::json!({ "auths": { registry.host(): { "auth": empty_user, "identitytoken": token } } });
    let inline = docker_config(&gw, "inline", entry(IDENTITY_TOKEN));
    let run: Run = gw.command(&push).env("DOCKER_CONFIG", &inline).output().unwrap().into();
    run.ok();
    assert_eq!(refresh_grants(), 1, "{:?}", tokens.requests.lock().unwrap());

    // A credential helper says `<token>` as the user name for one.
    let path = credential_helper(&gw, "gwtoken", &registry.host(), "<token>", IDENTITY_TOKEN);
    let helped = docker_config(&gw, "helped", serde_json::json!({ "credHelpers": { registry.host(): "gwtoken" } }));
    let run: Run = gw.command(&push).env("DOCKER_CONFIG", &helped).env("PATH", &path).output().unwrap().into();
    run.ok();
    assert_eq!(refresh_grants(), 2, "{:?}", tokens.requests.lock().unwrap());

    // A token the service does not take is refused, and gw names the service.
    let stale = docker_config(&gw, "stale", entry("expired-token"));
    let run: Run = gw.command(&push).env("DOCKER_CONFIG", &stale).output().unwrap().into();
    run.fails_with(1, &format!("its token service {} answered 401", tokens.realm()));

    // A registry that only takes Basic credentials cannot use one.
    let basic = Registry::start(Auth::Htpasswd);
    let target = format!("{}/acme/identity:1", basic.host());
    let config = docker_config(
        &gw,
        "basic",
        serde_json::json!({ "auths": { basic.host(): { "identitytoken": IDENTITY_TOKEN } } }),
    );
    let run: Run = gw
        .command(&["push", &target, "--wasm", "filter.wasm", "--insecure"])
        .env("DOCKER_CONFIG", &config)
        .output()
        .unwrap()
        .into();
    run.fails_with(1, "its login is an identity token, which only a token service takes");
}

#[test]
fn push_and_pull_use_the_docker_login_and_chunked_uploads() {
    let Some(registry) = Registry::start_if_available(Auth::Htpasswd) else { return };
    let (gw, wasm) = gw_with_module(10_000);
    let target = format!("{}/acme/filter:1", registry.host());
    let push = ["push", target.as_str(), "--wasm", "filter.wasm", "--insecure", "--chunk-size", "4096"];

    let run = gw.run(&push);
    run.fails_with(1, "refused access");
    assert!(run.stderr.contains("docker login"), "{}", run.stderr);

    let config = registry.docker_config(&gw.root.path().join("docker"));
    let with_login = |args: &[&str]| -> Run { gw.command(args).env("DOCKER_CONFIG", &config).output().unwrap().into() };
    with_login(&push).ok();
    with_login(&["pull", &target, "--insecure", "-o", "back.wasm"]).ok();
    assert_eq!(std::fs::read(gw.work().join("back.wasm")).unwrap(), wasm);
    assert!(registry.raw_manifest("acme/filter:1").starts_with(b"{"), "skopeo reads it with the same login");

    // Logins kept by a credential helper (credsStore, or credHelpers per registry), as Docker Desktop does.
    let path = credential_helper(&gw, "gwtest", &registry.host(), registry::USER, registry::PASSWORD);
    let store = gw.root.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    for config in
        [r#"{"credsStore":"gwtest"}"#.to_string(), format!(r#"{{"credHelpers":{{"{}":"gwtest"}}}}"#, registry.host())]
    {
        std::fs::write(store.join("config.json"), &config).unwrap();
        let run: Run = gw.command(&push).env("DOCKER_CONFIG", &store).env("PATH", &path).output().unwrap().into();
        run.ok();
    }
    std::fs::write(store.join("config.json"), r#"{"credsStore":"missing"}"#).unwrap();
    let run: Run = gw.command(&push).env("DOCKER_CONFIG", &store).env("PATH", &path).output().unwrap().into();
    run.fails_with(1, "docker-credential-missing cannot be run");
}

#[test]
fn bearer_tokens_anonymous_for_pulls_and_with_the_login_for_pushes() {
    if !registry::available() {
        return;
    }
    let tokens = TokenService::start();
    let registry = Registry::start(Auth::Token(&tokens));
    let (gw, wasm) = gw_with_module(100);
    let target = format!("{}/acme/token-filter:1", registry.host());
    let push = ["push", target.as_str(), "--wasm", "filter.wasm", "--insecure"];

    // Anonymous tokens carry pull rights only; the registry refuses the push.
    gw.run(&push).fails_with(1, "refused access");
    let config = registry.docker_config(&gw.root.path().join("docker"));
    let run: Run = gw.command(&push).env("DOCKER_CONFIG", &config).output().unwrap().into();
    run.ok();
    // Pulls work anonymously, as on Docker Hub.
    gw.run(&["pull", &target, "--insecure", "-o", "back.wasm"]).ok();
    assert_eq!(std::fs::read(gw.work().join("back.wasm")).unwrap(), wasm);
    let requests = tokens.requests.lock().unwrap().clone();
    assert!(requests.contains(&("repository:acme/token-filter:pull,push".into(), Grant::Login)), "{requests:?}");
    assert!(requests.contains(&("repository:acme/token-filter:pull".into(), Grant::Anonymous)), "{requests:?}");

    // Builds come through the same flow.
    publish(&registry, "envoyproxy/envoy", "v1.14.2", "linux", "amd64", &[&[(ENVOY, b"tokened")]]);
    fetch(&gw, &registry, &["fetch", "standard:1.14.2"]).ok();
    assert_eq!(std::fs::read(gw.installed("standard", "1.14.2", "envoy")).unwrap(), b"tokened");
}

/// `--format compat`: an ordinary image that skopeo takes, whose one gzipped layer holds
/// plugin.wasm; read back as Istio's and Envoy Gateway's fetchers read that variant (a config
/// that is not the Wasm one, so: the single layer, gunzipped, untarred, the file plugin.wasm).
#[test]
fn push_compat_writes_an_image_the_fetchers_read_back() {
    let Some(registry) = Registry::start_if_available(Auth::None) else { return };
    let (gw, wasm) = gw_with_module(2000);
    let target = format!("{}/acme/compat-filter:1", registry.host());
    let run = gw.run(&["push", &target, "--wasm", "filter.wasm", "--insecure", "--format", "compat"]);
    run.ok();
    let raw = registry.raw_manifest("acme/compat-filter:1");
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "the compat variant has one layer");
    assert_eq!(layers[0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
    let gzipped = std::fs::read(registry.blob_file(layers[0]["digest"].as_str().unwrap())).unwrap();
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gzipped.as_slice()), &mut tar).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut found = None;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().file_name().is_some_and(|n| n == "plugin.wasm") {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            found = Some(bytes);
        }
    }
    assert_eq!(found.as_deref(), Some(wasm.as_slice()), "plugin.wasm in the layer");
    let config = std::fs::read(registry.blob_file(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"][0], format!("sha256:{}", sha256_hex(&tar)), "the layer's diff id");
    // A container tool takes it as an image.
    let inspected = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", &format!("docker://{target}")])
        .output()
        .unwrap();
    assert!(inspected.status.success(), "{}", String::from_utf8_lossy(&inspected.stderr));
    gw.run(&["pull", &target, "-o", "back.wasm", "--insecure"]).ok();
    assert_eq!(std::fs::read(gw.work().join("back.wasm")).unwrap(), wasm);
}
