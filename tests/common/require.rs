//! What a test needs from the machine, checked in one place: Docker, a real Envoy,
//! root, a program on PATH. A test that needs one runs in CI, where .ci/run provides
//! them all and sets the switch that names each (GW_REQUIRE_DOCKER, GW_REQUIRE_ENVOY,
//! GW_REQUIRE_ROOT, GW_REQUIRE_TOOLS); with its switch set a missing need fails the
//! test, without it the test skips, saying what it needs and how to get it.
#![allow(dead_code, clippy::disallowed_methods)] // the tests' own switches, not gw's variables

use std::path::PathBuf;

/// Something a test needs.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    Docker,
    Envoy,
    Root,
    /// A program on PATH, and the Debian package that has it.
    Tool {
        program: &'static str,
        package: &'static str,
    },
}

impl Need {
    /// The switch that turns a skip into a failure.
    fn switch(self) -> &'static str {
        match self {
            Need::Docker => "GW_REQUIRE_DOCKER",
            Need::Envoy => "GW_REQUIRE_ENVOY",
            Need::Root => "GW_REQUIRE_ROOT",
            Need::Tool { .. } => "GW_REQUIRE_TOOLS",
        }
    }
}

/// Whether `need` is met; when not, fails (its switch is 1) or says why the test skips.
pub fn met(need: Need, missing_because: &str) -> bool {
    let switch = need.switch();
    if std::env::var(switch).as_deref() == Ok("1") {
        panic!("{switch}=1 but {missing_because}");
    }
    eprintln!("skipping: {missing_because} (set {switch}=1 to make this a failure)");
    false
}

/// Whether each program is on PATH; skips (or fails) naming the ones that are not.
pub fn tools(needed: &[(&'static str, &'static str)]) -> bool {
    let missing: Vec<&(&str, &str)> = needed.iter().filter(|(program, _)| which(program).is_none()).collect();
    match missing.first() {
        None => true,
        Some((program, package)) => {
            let programs: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
            let packages: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
            let because = format!("{} not on PATH (apt-get install {})", programs.join(", "), packages.join(" "));
            met(Need::Tool { program, package }, &because)
        }
    }
}

/// Whether the tests run as root (network namespaces, BPF); skips or fails otherwise.
pub fn root(what: &str) -> bool {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    uid == 0 || met(Need::Root, &format!("{what} needs root"))
}

/// PATH as the tests run with it.
pub fn path_var() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// A program's path on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join(program)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|candidate| candidate.is_file())
}
