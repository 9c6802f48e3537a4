//! `gw doctor`: each finding, and the fix for what is missing.

mod common;

use common::gw::Gw;

#[test]
fn reports_home_builds_network_docker_and_local_toolchains() {
    let gw = Gw::new();
    gw.publish_envoy("1.36.2", b"envoy");
    gw.run(&["use", "1.36.2"]).ok();
    let run = gw.command(&["doctor"]).env("GW_DOCKER_HOST", "unix:///nonexistent/docker.sock").output().unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{out}");
    for line in [
        "ok GW_HOME",
        "ok builds       standard:1.36.2/linux/amd64",
        "ok default      standard:1.36.2",
        "local wasm",
        "local eBPF",
    ] {
        assert!(out.contains(line), "doctor lacks {line:?}:\n{out}");
    }
    assert!(out.contains("!! docker       no daemon at unix:///nonexistent/docker.sock"), "{out}");
    assert!(out.contains("fix: install and start Docker"), "{out}");
}
