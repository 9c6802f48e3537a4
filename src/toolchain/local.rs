//! The local toolchain: the host's cargo, after checking that what the
//! project's kind needs is there (and saying how to get it if not).

use fs_err as fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::cargo::{self, WASM_TARGET};
use super::cargo::{describe, require_artifacts};
use super::{Artifact, Cargo, Error, Job, OUTPUT_DIR, Toolchain};
use crate::project::Kind;

pub struct LocalToolchain;

/// What the local toolchain lacks for a kind of project, with the fix; None if nothing.
pub fn missing_for(kind: Kind) -> Option<Error> {
    let Some(sysroot) = run_quiet("rustc", &["--print", "sysroot"]) else {
        return Some(Error::Missing { what: "rustc".into(), fix: "install Rust (https://rustup.rs)".into() });
    };
    match kind {
        Kind::ProxyWasm => {
            let target = Path::new(sysroot.trim()).join("lib/rustlib").join(WASM_TARGET);
            (!target.is_dir()).then(|| Error::Missing {
                what: format!("the Rust target {WASM_TARGET} (not in {})", sysroot.trim()),
                fix: format!("rustup target add {WASM_TARGET}"),
            })
        }
        Kind::Ebpf => run_quiet("bpf-linker", &["--version"]).is_none().then(|| Error::Missing {
            what: "bpf-linker".into(),
            fix: "rustup toolchain install nightly --component rust-src && cargo install bpf-linker".into(),
        }),
    }
}

impl Toolchain for LocalToolchain {
    fn build(&self, job: &Job, _echo: &mut dyn Write) -> Result<Cargo<Vec<Artifact>>, Error> {
        if let Some(missing) = missing_for(job.kind) {
            return Err(missing);
        }
        let metadata = cargo_metadata::MetadataCommand::new()
            .current_dir(&job.root)
            .no_deps()
            .exec()
            .map_err(|e| Error::Cargo(e.to_string()))?;
        let mut child = Command::new("cargo")
            .args(cargo::build_args(job))
            .current_dir(&job.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn { program: "cargo".into(), source })?;
        let mut messages = Vec::new();
        child.stdout.take().expect("piped").read_to_end(&mut messages).map_err(crate::fsutil::at("cargo's output"))?;
        let status = child.wait().map_err(crate::fsutil::at("cargo"))?;
        if !status.success() {
            return Ok(Cargo::Failed(status.code().unwrap_or(1)));
        }
        let produced = cargo::produced(job, Some(&metadata), &messages);
        require_artifacts(job, &produced)?;
        let dir = job.root.join(OUTPUT_DIR);
        fs::create_dir_all(&dir)?;
        let mut artifacts = Vec::new();
        for file in produced {
            let target = dir.join(&file.file_name);
            fs::copy(&file.path, &target)?;
            artifacts.push(describe(file.role, &target)?);
        }
        Ok(Cargo::Done(artifacts))
    }

    fn test(&self, job: &Job, _echo: &mut dyn Write) -> Result<Cargo<()>, Error> {
        let status = Command::new("cargo")
            .args(cargo::test_args())
            .current_dir(&job.root)
            .stdin(Stdio::null())
            .status()
            .map_err(|source| Error::Spawn { program: "cargo".into(), source })?;
        Ok(if status.success() { Cargo::Done(()) } else { Cargo::Failed(status.code().unwrap_or(1)) })
    }
}

pub(crate) fn run_quiet(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}
