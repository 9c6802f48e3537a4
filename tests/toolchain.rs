//! `gw build` and `gw test` through the Docker toolchain (a real daemon, the
//! real builder image) and the local one.

mod common;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::docker::{fixture, gw_containers, gw_volumes, require};
use common::gw::{Gw, Run};
use common::wait_until;

fn gw_in(gw: &Gw, dir: &Path, args: &[&str]) -> Run {
    gw.command(args).current_dir(dir).output().unwrap().into()
}

fn wasm_exports(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::ExportSection(reader) = payload.unwrap() {
            for export in reader {
                names.push(export.unwrap().name.to_string());
            }
        }
    }
    names
}

/// ELF e_machine: 247 is BPF, 62 is x86-64.
fn elf_machine(bytes: &[u8]) -> u16 {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    u16::from_le_bytes([bytes[18], bytes[19]])
}

#[test]
fn builds_a_proxy_wasm_filter_in_docker() {
    let Some(_docker) = require() else { return };
    let gw = Gw::new();
    let (_tmp, project) = fixture("wasm-filter");
    let run = gw_in(&gw, &project, &["build"]);
    run.ok();
    let wasm = project.join("target/gw/wasm_filter.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}\n{}", wasm.display(), run.stderr));
    assert!(wasm_exports(&bytes).iter().any(|e| e == "proxy_abi_version_0_2_1"), "exports the proxy-wasm ABI");
    assert!(run.stdout.contains("target/gw/wasm_filter.wasm") && run.stdout.contains("sha256:"), "{}", run.stdout);
    assert!(gw_containers(&project).is_empty(), "no container is left: {:?}", gw_containers(&project));

    // A second build after touching a source is incremental and gives the same kind of output.
    let lib = project.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{text}\n// touched\n")).unwrap();
    gw_in(&gw, &project, &["build"]).ok();
    assert!(wasm_exports(&std::fs::read(&wasm).unwrap()).iter().any(|e| e == "proxy_abi_version_0_2_1"));

    // The build cache is one labelled volume; `gw clean` removes it and the outputs.
    let volumes = gw_volumes(&project);
    assert_eq!(volumes.len(), 1, "{volumes:?}");
    assert!(volumes[0].starts_with("gw-target-wasm-filter-"), "{volumes:?}");
    let dry = gw_in(&gw, &project, &["clean", "--dry-run"]);
    dry.ok();
    assert!(dry.stdout.contains(&format!("would remove volume {}", volumes[0])), "{}", dry.stdout);
    assert!(dry.stdout.contains("would remove target/gw"), "{}", dry.stdout);
    assert_eq!(gw_volumes(&project), volumes, "a dry run removes nothing");
    assert!(wasm.is_file(), "a dry run removes nothing");
    let clean = gw_in(&gw, &project.join("src"), &["clean"]);
    clean.ok();
    assert!(clean.stdout.contains(&format!("removed volume {}", volumes[0])), "{}", clean.stdout);
    assert!(gw_volumes(&project).is_empty(), "{:?}", gw_volumes(&project));
    assert!(!project.join("target/gw").exists(), "target/gw is gone");
    let again = gw_in(&gw, &project, &["clean"]);
    again.ok();
    assert!(again.stdout.is_empty() && again.stderr.contains("nothing to clean"), "{}", again.stderr);
}

/// A target volume labelled as gw labels them, for the project at `root`.
fn make_target_volume(name: &str, root: &Path) {
    let status = std::process::Command::new("docker")
        .args(["volume", "create", "--label", "dev.gw.tool=gw", "--label", "dev.gw.cache=target"])
        .args(["--label", &format!("dev.gw.project={}", root.display()), name])
        .output()
        .unwrap()
        .status;
    assert!(status.success(), "docker volume create {name}");
}

fn volume_exists(name: &str) -> bool {
    let output = std::process::Command::new("docker").args(["volume", "inspect", name]).output().unwrap();
    output.status.success()
}

#[test]
fn clean_stale_removes_the_volumes_of_projects_that_are_gone() {
    let Some(_docker) = require() else { return };
    let gw = Gw::new();
    let (_tmp, kept_root) = fixture("wasm-filter");
    let gone_root = gw.work().join("deleted-checkout");
    let suffix = std::process::id();
    let (kept, gone, busy) =
        (format!("gw-target-kept-{suffix}"), format!("gw-target-gone-{suffix}"), format!("gw-target-busy-{suffix}"));
    make_target_volume(&kept, &kept_root);
    make_target_volume(&gone, &gone_root);

    let dry = gw.run(&["clean", "--stale", "--dry-run"]);
    dry.ok();
    assert!(dry.stdout.contains(&format!("would remove volume {gone}  (builds of {})", gone_root.display())));
    assert!(!dry.stdout.contains(&kept), "{}", dry.stdout);
    assert!(volume_exists(&gone), "a dry run removes nothing");

    gw.run(&["clean", "--stale"]).ok();
    assert!(!volume_exists(&gone), "the volume of a deleted checkout is removed");
    assert!(volume_exists(&kept), "the volume of a live project stays");
    let _ = std::process::Command::new("docker").args(["volume", "rm", &kept]).output();

    // A volume a container still uses is named, and stays.
    make_target_volume(&busy, &gone_root);
    let container = format!("gw-clean-test-{suffix}");
    let created = std::process::Command::new("docker")
        .args(["create", "--name", &container, "-v", &format!("{busy}:/target"), "debian:bookworm-slim", "true"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let refused = gw.run(&["clean", "--stale"]);
    let _ = std::process::Command::new("docker").args(["rm", "-f", &container]).output();
    refused.fails_with(1, &format!("volume {busy} is in use by a container"));
    assert!(refused.stderr.contains("stop the `gw build`"), "{}", refused.stderr);
    let _ = std::process::Command::new("docker").args(["volume", "rm", &busy]).output();
}

#[test]
fn builds_an_aya_workspace_in_docker() {
    let Some(_docker) = require() else { return };
    let gw = Gw::new();
    let (_tmp, project) = fixture("ebpf-xdp");
    let run = gw_in(&gw, &project, &["build"]);
    run.ok();
    let object = project.join("target/gw/ebpf-xdp.bpf.o");
    let loader = project.join("target/gw/ebpf-xdp");
    assert_eq!(elf_machine(&std::fs::read(&object).unwrap()), 247, "a BPF object:\n{}", run.stdout);
    assert_eq!(elf_machine(&std::fs::read(&loader).unwrap()), 62, "an x86-64 loader");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&loader).unwrap().permissions());
    assert_eq!(mode & 0o111, 0o111, "the loader can be run: mode {mode:o}");
    assert!(run.stdout.contains("eBPF object") && run.stdout.contains("loader"), "{}", run.stdout);
}

#[test]
fn gw_test_passes_and_fails_as_cargo_test_does() {
    let Some(_docker) = require() else { return };
    let gw = Gw::new();
    let (_tmp, project) = fixture("wasm-filter");
    let run = gw_in(&gw, &project, &["test"]);
    run.ok();
    assert!(run.stderr.contains("test result: ok"), "{}", run.stderr);

    let lib = project.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        format!("{text}\n#[test]\nfn gw_breaks_this() {{ assert_eq!(1, 2, \"deliberately broken\"); }}\n"),
    )
    .unwrap();
    let run = gw_in(&gw, &project, &["test"]);
    assert_eq!(run.code, 101, "cargo test's exit code passes through\n{}", run.stderr);
    assert!(run.stderr.contains("deliberately broken"), "{}", run.stderr);
    // cargo said it already; gw adds no error line of its own.
    assert!(
        !run.stderr.lines().any(|l| l.starts_with("error: ") && l.contains("gw")),
        "not reported twice\n{}",
        run.stderr
    );
}

#[test]
fn ctrl_c_during_a_build_leaves_no_container() {
    let Some(_docker) = require() else { return };
    let gw = Gw::new();
    let (_tmp, project) = fixture("wasm-filter");
    // A fresh target volume: this build takes long enough to interrupt.
    let child = gw
        .command(&["build", "--debug"])
        .current_dir(&project)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(1800), || !gw_containers(&project).is_empty()), "a build container started");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(gw_containers(&project).is_empty(), "left: {:?}", gw_containers(&project));
}

#[test]
fn files_in_the_project_belong_to_the_caller() {
    let Some(_docker) = require() else { return };
    let gw = Gw::new();
    let (tmp, project) = fixture("wasm-filter");
    const UID: u32 = 4321;
    // The caller is an ordinary user who may use Docker (the socket's group).
    let docker_gid = std::fs::metadata("/var/run/docker.sock").unwrap().gid();
    for path in [tmp.path().to_path_buf(), gw.home(), gw.root.path().to_path_buf()] {
        chown_tree(&path, UID, docker_gid);
    }
    let output = gw.command(&["build"]).current_dir(&project).uid(UID).gid(docker_gid).output().unwrap();
    let run: Run = output.into();
    run.ok();
    for produced in ["target/gw/wasm_filter.wasm", "target/gw"] {
        let meta = std::fs::metadata(project.join(produced)).unwrap();
        assert_eq!(meta.uid(), UID, "{produced} belongs to the caller");
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            chown_tree(&entry.path(), uid, gid);
        }
    }
}

#[test]
fn an_unreachable_daemon_says_how_to_fix_it() {
    let gw = Gw::new();
    let (_tmp, project) = fixture("wasm-filter");
    let run: Run = gw
        .command(&["build"])
        .current_dir(&project)
        .env("GW_DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap()
        .into();
    run.fails_with(1, "cannot reach the Docker daemon at unix:///nonexistent/docker.sock");
    assert!(run.stderr.contains("--toolchain local") && run.stderr.contains("dockerd"), "{}", run.stderr);
}

/// The real rustc cannot be made to lack the wasm32 target on demand: a shim in front of it
/// answers `--print sysroot` with a sysroot without it, and runs the real rustc otherwise.
#[test]
fn the_local_toolchain_names_the_missing_wasm_target() {
    let gw = Gw::new();
    let (tmp, project) = fixture("wasm-filter");
    let (shims, sysroot) = (tmp.path().join("shims"), tmp.path().join("sysroot"));
    std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu")).unwrap();
    std::fs::create_dir_all(&shims).unwrap();
    let real = common::require::which("rustc").expect("rustc on PATH");
    let shim = format!(
        "#!/bin/sh\nif [ \"$1 $2\" = \"--print sysroot\" ]; then echo '{}'; else exec '{}' \"$@\"; fi\n",
        sysroot.display(),
        real.display()
    );
    std::fs::write(shims.join("rustc"), shim).unwrap();
    std::fs::set_permissions(shims.join("rustc"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", shims.display(), common::require::path_var());
    let run: Run =
        gw.command(&["build", "--toolchain", "local"]).current_dir(&project).env("PATH", path).output().unwrap().into();
    run.fails_with(1, &format!("the Rust target wasm32-unknown-unknown (not in {})", sysroot.display()));
    assert!(run.stderr.contains("rustup target add wasm32-unknown-unknown"), "{}", run.stderr);
}

#[test]
fn a_builder_image_that_does_not_exist_says_what_to_do() {
    let Some(_docker) = require() else { return };
    let gw = Gw::new();
    let (_tmp, project) = fixture("wasm-filter");
    let run = gw_in(&gw, &project, &["build", "--builder-image", "gw-test-no-such-image:0"]);
    run.fails_with(2, "the image gw-test-no-such-image:0 is not on this Docker daemon");
    assert!(
        run.stderr.contains("docker pull gw-test-no-such-image:0") && run.stderr.contains("GW_BUILDER_IMAGE"),
        "{}",
        run.stderr
    );
    assert!(gw_containers(&project).is_empty(), "no container left behind");
}

#[test]
fn outside_a_project_build_says_how_to_make_one() {
    let gw = Gw::new();
    gw.run(&["build"]).fails_with(2, "not inside a gw project");
    gw.run(&["clean"]).fails_with(2, "not inside a gw project");
    std::fs::write(gw.work().join("gw.toml"), "[project]\nname = \"x\"\nkind = \"lua\"\n").unwrap();
    let run = gw.run(&["build", "--toolchain", "local"]);
    run.fails_with(2, "unknown variant `lua`, expected `proxy-wasm` or `ebpf`");
    assert!(run.stderr.contains("line 3"), "names the line:\n{}", run.stderr);
}
