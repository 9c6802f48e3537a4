//! The Docker toolchain: cargo in the builder image, the project
//! bind-mounted, cargo's registry and the target directory in named volumes
//! (so warm builds are incremental), running as the caller's uid:gid.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::cargo::{self};
use super::cargo::{describe, require_artifacts};
use super::image::BuilderImage;
use super::{Artifact, Cargo, Error, Job, OUTPUT_DIR, PrivilegedGw, Role, Toolchain};
use crate::docker::{Docker, RunSpec, Stream, Volume};
use crate::download::Sha256;

const SRC: &str = "/src";
const CARGO_HOME: &str = "/cargo";
const TARGET: &str = "/target";
const CONTAINER_CA: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Cargo's home (the crates registry) is shared by every project of one
/// user: crates are downloaded once. Per uid, since its files belong to it.
const REGISTRY_VOLUME: &str = "gw-cargo-home";
/// Names the project a container or target volume belongs to (its root path).
pub const PROJECT_LABEL: &str = "dev.gw.project";
/// What a volume caches: `target` (one project's builds) or `cargo-home`.
pub const CACHE_LABEL: &str = "dev.gw.cache";

pub struct DockerToolchain {
    pub docker: Docker,
    pub image: BuilderImage,
    /// The host's CA bundle, mounted into build containers (None: opted out or absent).
    pub ca_bundle: Option<PathBuf>,
    /// Proxy variables passed into build containers.
    pub proxies: Vec<(String, String)>,
}

impl DockerToolchain {
    /// Builds the image if it is missing; `on_line` sees the build's output.
    pub fn ensure_image(&self, base: &str, on_line: &mut dyn FnMut(&str)) -> Result<bool, Error> {
        if self.docker.image_exists(&self.image.tag)? {
            return Ok(false);
        }
        // One build of an image per machine; others wait for it, then find it.
        let lock_path = std::env::temp_dir().join(format!("gw-{}.lock", self.image.tag.replace([':', '/'], "-")));
        let _lock = crate::download::InstallLock::acquire(&lock_path, || {
            on_line("waiting for another gw building the same image")
        })
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
        if self.docker.image_exists(&self.image.tag)? {
            return Ok(false);
        }
        let Some((recipe, _)) = &self.image.recipe else {
            return Err(crate::docker::Error::NoImage(self.image.tag.clone()).into());
        };
        let ca = match &self.ca_bundle {
            Some(path) => Some(fs_err::read(path)?),
            None => None,
        };
        let context = BuilderImage::context(recipe, ca.as_deref()).map_err(crate::fsutil::at("the build context"))?;
        let args = BuilderImage::build_args(base, &self.proxies);
        self.docker.build_image(&self.image.tag, context, &args, on_line)?;
        Ok(true)
    }

    fn spec(&self, job: &Job, cmd: Vec<String>) -> RunSpec {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let mut env = vec![
            format!("CARGO_HOME={CARGO_HOME}"),
            format!("CARGO_TARGET_DIR={TARGET}"),
            "HOME=/tmp".to_string(),
            format!("CARGO_TERM_COLOR={}", if job.color { "always" } else { "never" }),
        ];
        env.extend(self.proxies.iter().map(|(k, v)| format!("{k}={v}")));
        let project = (PROJECT_LABEL.to_string(), job.root.display().to_string());
        let cache = |what: &str| (CACHE_LABEL.to_string(), what.to_string());
        let mut volumes = vec![
            Volume::Bind { host: job.root.display().to_string(), container: SRC.into(), read_only: false },
            Volume::Named {
                name: format!("{REGISTRY_VOLUME}-{uid}"),
                container: CARGO_HOME.into(),
                labels: vec![cache("cargo-home")],
            },
            Volume::Named {
                name: target_volume(&job.name, &job.root),
                container: TARGET.into(),
                labels: vec![cache("target"), project.clone()],
            },
        ];
        if let Some(ca) = &self.ca_bundle {
            volumes.push(Volume::Bind {
                host: ca.display().to_string(),
                container: CONTAINER_CA.into(),
                read_only: true,
            });
        }
        RunSpec {
            image: self.image.tag.clone(),
            cmd,
            env,
            volumes,
            user: Some(format!("{uid}:{gid}")),
            workdir: Some(SRC.into()),
            cap_add: Vec::new(),
            labels: vec![project],
        }
    }
}

/// What loading BPF programs takes in a container here: Docker 20.10 knows no CAP_BPF, and
/// `--privileged` fails on some hosts.
const BPF_CAPABILITIES: [&str; 3] = ["SYS_ADMIN", "NET_ADMIN", "NET_RAW"];
const GW_IN_CONTAINER: &str = "/usr/local/bin/gw";

impl DockerToolchain {
    fn privileged_spec(&self, run: &PrivilegedGw) -> RunSpec {
        let bind = |path: &Path, read_only| Volume::Bind {
            host: path.display().to_string(),
            container: path.display().to_string(),
            read_only,
        };
        let mut volumes = vec![Volume::Bind {
            host: run.gw.display().to_string(),
            container: GW_IN_CONTAINER.into(),
            read_only: true,
        }];
        volumes.extend(run.reads.iter().map(|p| bind(p, true)));
        volumes.extend(run.writes.iter().map(|p| bind(p, false)));
        let mut cmd = vec![GW_IN_CONTAINER.to_string()];
        cmd.extend(run.args.iter().cloned());
        RunSpec {
            image: self.image.tag.clone(),
            cmd,
            env: vec!["NO_COLOR=1".into(), "HOME=/tmp".into(), "GW_HOME=/tmp/gw".into()],
            volumes,
            // Root in the container: the capabilities are root's.
            user: None,
            workdir: Some(run.cwd.display().to_string()),
            cap_add: BPF_CAPABILITIES.map(String::from).to_vec(),
            labels: Vec::new(),
        }
    }
}

impl Toolchain for DockerToolchain {
    fn privileged_gw(
        &self,
        run: &PrivilegedGw,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Option<i32>, Error> {
        let code = self.docker.run(&self.privileged_spec(run), &mut |stream, bytes| {
            let _ = match stream {
                Stream::Stdout => out.write_all(bytes),
                Stream::Stderr => err.write_all(bytes),
            };
        })?;
        Ok(Some(i32::try_from(code).unwrap_or(1)))
    }

    fn build(&self, job: &Job, echo: &mut dyn Write) -> Result<Cargo<Vec<Artifact>>, Error> {
        // The image carries a wasm32 std in rustc's sysroot, so this is plain cargo.
        // The metadata (one JSON line) comes first on stdout, then cargo's build messages.
        let script =
            format!("cargo metadata --no-deps --format-version 1 && exec cargo {}", cargo::build_args(job).join(" "));
        // Filled while the container runs, read once it has exited.
        let stdout = std::cell::RefCell::new(Vec::new());
        let spec = self.spec(job, vec!["sh".into(), "-c".into(), script]);
        let on_output = &mut |stream: Stream, bytes: &[u8]| match stream {
            Stream::Stdout => stdout.borrow_mut().extend_from_slice(bytes),
            Stream::Stderr => {
                let _ = echo.write_all(bytes).and_then(|_| echo.flush());
            }
        };
        // The target directory is a volume: the outputs are read out of the
        // exited container, so a build is one container start.
        self.docker.run_then(&spec, on_output, |exited| {
            if exited.code != 0 {
                return Ok(Cargo::Failed(exited.code as i32));
            }
            let stdout = stdout.borrow();
            let split = stdout.iter().position(|&b| b == b'\n').unwrap_or(stdout.len());
            let metadata = cargo::parse_metadata(&stdout[..split]).map_err(Error::Cargo)?;
            let produced = cargo::produced(job, Some(&metadata), &stdout[split..]);
            require_artifacts(job, &produced)?;
            let dir = job.root.join(OUTPUT_DIR);
            fs_err::create_dir_all(&dir)?;
            let mut artifacts = Vec::new();
            for file in &produced {
                let bytes = exited.read_file(&file.path)?;
                let dest = dir.join(&file.file_name);
                let mode = if file.role == Role::Loader { 0o755 } else { 0o644 };
                crate::fsutil::write_atomically(&dest, &bytes, mode)?;
                artifacts.push(describe(file.role, &dest)?);
            }
            Ok(Cargo::Done(artifacts))
        })?
    }

    fn test(&self, job: &Job, echo: &mut dyn Write) -> Result<Cargo<()>, Error> {
        let mut cmd = vec!["cargo".to_string()];
        cmd.extend(cargo::test_args());
        // Test output is cargo's stdout; show it as it comes.
        let code = self.docker.run(&self.spec(job, cmd), &mut |_, bytes| {
            let _ = echo.write_all(bytes).and_then(|_| echo.flush());
        })?;
        Ok(if code == 0 { Cargo::Done(()) } else { Cargo::Failed(code as i32) })
    }
}

/// `gw-target-<name>-<hash of the project's path>`: one per project checkout.
pub(super) fn target_volume(name: &str, root: &Path) -> String {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let digest = Sha256::of_bytes(root.display().to_string().as_bytes());
    format!("gw-target-{safe}-{}", &digest.as_str()[..8])
}
