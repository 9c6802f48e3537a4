//! Which CA certificates gw trusts, in one place: the system bundle (looked for where
//! the common distributions keep it), plus SSL_CERT_FILE / SSL_CERT_DIR when set.
//! The same bundle goes into build containers, so a company CA that intercepts TLS
//! works inside them too.

use std::path::PathBuf;

use crate::env_vars;

/// Where Debian/Ubuntu, Fedora/RHEL, openSUSE and Alpine/macOS keep the system bundle.
pub const SYSTEM_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The first system bundle that exists.
pub fn system_bundle() -> Option<PathBuf> {
    SYSTEM_BUNDLES.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// SSL_CERT_FILE, if set (it may not exist: `gw doctor` says so).
pub fn cert_file() -> Option<PathBuf> {
    env_vars::path(&env_vars::SSL_CERT_FILE).map(PathBuf::from)
}

/// Whether SSL_CERT_FILE or SSL_CERT_DIR is set: reqwest then reads them *instead* of the
/// system store, so gw adds the system bundle back.
pub fn extra_trust() -> bool {
    cert_file().is_some() || env_vars::path(&env_vars::SSL_CERT_DIR).is_some()
}

/// The bundle to hand to build containers: SSL_CERT_FILE when it is a file, else the system's.
pub fn host_bundle() -> Option<PathBuf> {
    cert_file().filter(|p| p.is_file()).or_else(system_bundle)
}
