//! `gw doctor`: each finding, and the fix for what is missing.

mod common;

use common::gw::Gw;

#[test]
fn reports_home_builds_network_docker_and_local_toolchains() {
    let gw = Gw::new();
    gw.publish_envoy("1.36.2", b"envoy");
    gw.run(&["use", "1.36.2"]).ok();
    let docker_config = gw.root.path().join("docker");
    std::fs::create_dir_all(&docker_config).unwrap();
    std::fs::write(
        docker_config.join("config.json"),
        r#"{"auths":{"ghcr.io":{"auth":"dTpw"}},"credsStore":"desktop"}"#,
    )
    .unwrap();
    let run = gw
        .command(&["doctor"])
        .env("GW_DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("DOCKER_CONFIG", &docker_config)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{out}");
    for line in [
        "ok GW_HOME",
        "ok builds       standard:1.36.2/linux/amd64",
        "ok default      standard:1.36.2",
        "local wasm",
        "local eBPF",
        "kubectl",
        "(GW_REGISTRY_MIRROR) for envoyproxy/envoy and cilium/cilium-envoy",
        "ok logins       ghcr.io; credsStore docker-credential-desktop (from",
    ] {
        assert!(out.contains(line), "doctor lacks {line:?}:\n{out}");
    }
    assert!(out.contains("!! docker       no daemon at unix:///nonexistent/docker.sock"), "{out}");
    assert!(out.contains("fix: install and start Docker"), "{out}");
    assert!(!out.contains("dTpw"), "no secret is shown:\n{out}");
}
