//! The cargo side, common to both toolchains: which command a job runs, and
//! which files it produced, read from cargo's own messages and metadata
//! (never guessed from paths).

use std::path::Path;

use cargo_metadata::{Message, Metadata, TargetKind};

use super::{Artifact, Error, Job, Profile, Role};
use crate::download::Sha256;
use crate::project::Kind;

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// `cargo build …` for a job, with messages as JSON on stdout and
/// diagnostics rendered on stderr.
pub fn build_args(job: &Job) -> Vec<String> {
    let mut args = vec!["build".to_string(), "--message-format=json-render-diagnostics".to_string()];
    if job.profile == Profile::Release {
        args.push("--release".into());
    }
    if job.kind == Kind::ProxyWasm {
        args.extend(["--target".to_string(), WASM_TARGET.to_string()]);
    }
    args
}

pub fn test_args() -> Vec<String> {
    vec!["test".to_string()]
}

/// A file cargo produced, by the path cargo gave (in the toolchain's view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Produced {
    pub role: Role,
    pub path: String,
    /// The name it gets in `target/gw/`.
    pub file_name: String,
}

/// Reads the artifacts of a build from its JSON messages (and, for aya
/// workspaces, the metadata that says which crate is the eBPF one).
pub fn produced(job: &Job, metadata: Option<&Metadata>, messages: &[u8]) -> Vec<Produced> {
    let mut out = Vec::new();
    let mut out_dirs = Vec::new();
    for message in Message::parse_stream(messages) {
        match message {
            Ok(Message::CompilerArtifact(artifact)) => {
                let kinds = &artifact.target.kind;
                if job.kind == Kind::ProxyWasm && kinds.contains(&TargetKind::CDyLib) {
                    for file in artifact.filenames.iter().filter(|f| f.extension() == Some("wasm")) {
                        out.push(Produced {
                            role: Role::Wasm,
                            path: file.to_string(),
                            file_name: file.file_name().unwrap_or("module.wasm").to_string(),
                        });
                    }
                }
                if job.kind == Kind::Ebpf
                    && kinds.contains(&TargetKind::Bin)
                    && let Some(exe) = artifact.executable
                {
                    let name = exe.file_name().unwrap_or("loader").to_string();
                    out.push(Produced { role: Role::Loader, path: exe.to_string(), file_name: name });
                }
            }
            Ok(Message::BuildScriptExecuted(script)) => out_dirs.push((script.package_id, script.out_dir)),
            _ => {}
        }
    }
    if let (Kind::Ebpf, Some(metadata)) = (job.kind, metadata) {
        // aya-build compiles the eBPF crate inside the loader's build script
        // and leaves each of its binaries in that script's OUT_DIR.
        let ebpf_bins: Vec<&str> = metadata
            .workspace_packages()
            .into_iter()
            .filter(|p| p.dependencies.iter().any(|d| d.name == "aya-ebpf"))
            .flat_map(|p| p.targets.iter().filter(|t| t.kind.contains(&TargetKind::Bin)).map(|t| t.name.as_str()))
            .collect();
        let loaders: Vec<&cargo_metadata::PackageId> = metadata
            .workspace_packages()
            .into_iter()
            .filter(|p| p.dependencies.iter().any(|d| d.name == "aya-build"))
            .map(|p| &p.id)
            .collect();
        for (package, out_dir) in &out_dirs {
            if loaders.contains(&package) {
                for bin in &ebpf_bins {
                    out.push(Produced {
                        role: Role::BpfObject,
                        path: out_dir.join(bin).to_string(),
                        file_name: format!("{bin}.bpf.o"),
                    });
                }
            }
        }
    }
    out
}

/// The metadata document (`cargo metadata --format-version 1`).
pub fn parse_metadata(json: &[u8]) -> Result<Metadata, String> {
    serde_json::from_slice(json).map_err(|e| e.to_string())
}

/// Every role the project's kind must produce is there.
pub(super) fn require_artifacts(job: &Job, produced: &[Produced]) -> Result<(), Error> {
    let needed: &[Role] = match job.kind {
        Kind::ProxyWasm => &[Role::Wasm],
        Kind::Ebpf => &[Role::Loader, Role::BpfObject],
    };
    for role in needed {
        if !produced.iter().any(|p| p.role == *role) {
            return Err(Error::NoArtifact { role: *role, name: job.name.clone(), kind: job.kind });
        }
    }
    Ok(())
}

/// Size and digest of an output copied into the project.
pub(super) fn describe(role: Role, path: &Path) -> Result<Artifact, Error> {
    let size = fs_err::metadata(path)?.len();
    let sha256 = Sha256::of_file(path)?;
    Ok(Artifact { role, path: path.to_path_buf(), size, sha256 })
}
