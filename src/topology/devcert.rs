//! `tls = true` on the front: a development certificate for localhost, 127.0.0.1 and ::1,
//! signed by a CA of gw's own, made once and kept in `$GW_HOME/certs/`. The CA's key is not
//! kept: nothing else can ever be signed with it, so trusting `ca.pem` trusts this one
//! certificate only.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};

use super::Error;

/// The files of the development certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevCert {
    /// The CA to trust (`curl --cacert`).
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl DevCert {
    fn in_dir(dir: &Path) -> DevCert {
        DevCert { ca: dir.join("ca.pem"), cert: dir.join("localhost.pem"), key: dir.join("localhost.key") }
    }
}

/// The development certificate in `home/certs`, made now if it is not there.
pub fn ensure(home: &Path) -> Result<DevCert, Error> {
    let dir = home.join("certs");
    let made = DevCert::in_dir(&dir);
    if made.ca.is_file() && made.cert.is_file() && made.key.is_file() {
        return Ok(made);
    }
    let failed = |e: &dyn std::fmt::Display| Error::DevCert(e.to_string());
    fs_err::create_dir_all(home)?;
    // Written whole in a directory beside it, then renamed into place: never half a set.
    let staging = tempfile::Builder::new().prefix(".certs-").tempdir_in(home)?;
    let (ca, cert, key) = generate().map_err(|e| failed(&e))?;
    let files = DevCert::in_dir(staging.path());
    fs_err::write(&files.ca, ca)?;
    fs_err::write(&files.cert, cert)?;
    write_private(&files.key, &key)?;
    if dir.exists() {
        // An incomplete set (a removed file): replaced whole.
        fs_err::remove_dir_all(&dir)?;
    }
    let staged = staging.keep();
    if let Err(e) = fs_err::rename(&staged, &dir) {
        let _ = fs_err::remove_dir_all(&staged);
        // Another gw made it at the same moment: theirs serves.
        if !made.cert.is_file() {
            return Err(e.into());
        }
    }
    Ok(made)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use fs_err::os::unix::fs::OpenOptionsExt;
    use std::io::Write;
    let mut file = fs_err::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

/// (CA certificate, leaf certificate, leaf key), PEM.
fn generate() -> Result<(String, String, String), rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.distinguished_name.push(DnType::CommonName, "gw development CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()])?;
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    for ip in [std::net::Ipv4Addr::LOCALHOST.into(), std::net::Ipv6Addr::LOCALHOST.into()] {
        leaf.subject_alt_names.push(SanType::IpAddress(ip));
    }
    let issuer = Issuer::new(ca_params, ca_key);
    let cert = leaf.signed_by(&leaf_key, &issuer)?;
    Ok((ca.pem(), cert.pem(), leaf_key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reused_and_its_key_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let first = ensure(home.path()).unwrap();
        let cert = fs_err::read_to_string(&first.cert).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert_eq!(fs_err::metadata(&first.key).unwrap().permissions().mode() & 0o777, 0o600);
        let again = ensure(home.path()).unwrap();
        assert_eq!(fs_err::read_to_string(&again.cert).unwrap(), cert, "kept, not made again");
        fs_err::remove_file(&first.ca).unwrap();
        ensure(home.path()).unwrap();
        assert_ne!(fs_err::read_to_string(&first.cert).unwrap(), cert, "an incomplete set is made anew");
        let left: Vec<_> = fs_err::read_dir(home.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["certs"], "no staging directory is left");
    }
}
