//! A real OCI registry on loopback: Debian's docker-registry (distribution
//! 2.8), started per test with its own storage, optionally behind htpasswd
//! (Basic) auth. Images are put into it with skopeo from OCI layouts the
//! tests write (tests/common/oci_layout.rs), or with `docker push`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const USER: &str = "gw-test";
pub const PASSWORD: &str = "s3cret-pass";
/// bcrypt of PASSWORD (what `htpasswd -B` writes), the format docker-registry requires.
const PASSWORD_BCRYPT: &str = "$2b$05$abcdefghijklmnopqrstuuV7fpPozvyqJfnY19y0802WTlXUm6Rjy";

pub struct Registry {
    pub dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
    pub auth: bool,
}

/// How the registry asks for credentials.
pub enum Auth<'a> {
    None,
    /// Basic, against an htpasswd file.
    Htpasswd,
    /// Bearer tokens from a token service.
    Token(&'a super::token_service::TokenService),
}

/// Whether the registry and skopeo are installed (CI installs both); else the test skips.
pub fn available() -> bool {
    super::require::tools(&[("docker-registry", "docker-registry"), ("skopeo", "skopeo")])
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(tool))
        .find(|path| path.is_file())
}

impl Registry {
    /// A running registry, or None (after saying why) when the tools are missing.
    pub fn start_if_available(auth: Auth) -> Option<Registry> {
        available().then(|| Registry::start(auth))
    }

    pub fn start(auth: Auth) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = super::free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        match auth {
            Auth::None => {}
            Auth::Htpasswd => {
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{USER}:{PASSWORD_BCRYPT}\n")).unwrap();
                config.push_str(&format!("auth:\n  htpasswd:\n    realm: gw-test\n    path: {}\n", htpasswd.display()));
            }
            Auth::Token(service) => config.push_str(&format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                service.realm(),
                super::token_service::SERVICE,
                super::token_service::ISSUER,
                service.cert().display()
            )),
        }
        let auth = !matches!(auth, Auth::None);
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { dir, child, port, auth };
        let up =
            super::wait_until(Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        assert!(up, "docker-registry did not listen: {}", registry.log());
        registry
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Where the registry keeps a blob's bytes (to tamper with them).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir.path().join("data/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// A Docker config dir holding this registry's login, for DOCKER_CONFIG.
    pub fn docker_config(&self, at: &Path) -> PathBuf {
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        std::fs::create_dir_all(at).unwrap();
        let config = serde_json::json!({ "auths": { self.host(): { "auth": auth } } });
        std::fs::write(at.join("config.json"), config.to_string()).unwrap();
        at.to_path_buf()
    }

    /// `skopeo copy --all` from an OCI layout into `repo:tag` here.
    pub fn copy_in(&self, layout: &Path, tag: &str, repo_tag: &str) {
        let mut command = Command::new("skopeo");
        command.args(["--insecure-policy", "copy", "--all", "--quiet", "--dest-tls-verify=false"]);
        if self.auth {
            command.arg(format!("--dest-creds={USER}:{PASSWORD}"));
        }
        let output = command
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host()))
            .output()
            .expect("run skopeo");
        assert!(output.status.success(), "skopeo copy failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// `skopeo inspect --raw`: the manifest as the registry serves it.
    pub fn raw_manifest(&self, repo_tag: &str) -> Vec<u8> {
        let mut command = Command::new("skopeo");
        command.args(["inspect", "--raw", "--tls-verify=false"]);
        if self.auth {
            command.arg(format!("--creds={USER}:{PASSWORD}"));
        }
        let output = command.arg(format!("docker://{}/{repo_tag}", self.host())).output().expect("run skopeo");
        assert!(output.status.success(), "skopeo inspect failed: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
