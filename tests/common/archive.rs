//! Builders for test archives (tar.gz / tar.xz), including malicious ones,
//! plus sha256 and func-e `envoy-versions.json` helpers.
//!
//! ```ignore
//! let tarball = Archive::new()
//!     .dir("envoy-v1.36.2-linux-amd64/bin")
//!     .file("envoy-v1.36.2-linux-amd64/bin/envoy", bytes, 0o755)
//!     .raw_file("../escape", b"pwned", 0o644)
//!     .tar_xz();
//! ```
#![allow(dead_code)]

use std::io::Write;

use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

/// A fixed mtime so that archives are byte-for-byte reproducible.
const MTIME: u64 = 1_700_000_000;

#[derive(Clone, Debug)]
enum Kind {
    File(Vec<u8>),
    Dir,
    Symlink(Vec<u8>),
    Hardlink(Vec<u8>),
    CharDevice(u32, u32),
    Fifo,
}

#[derive(Clone, Debug)]
struct Entry {
    /// Name bytes as they go into the archive.
    name: Vec<u8>,
    kind: Kind,
    mode: u32,
    /// Write `name` into the header verbatim, with no validation at all.
    raw: bool,
}

/// An in-memory tar archive under construction. Entries are written in the
/// order they were added; nothing is added implicitly (no parent dirs).
#[derive(Clone, Debug, Default)]
pub struct Archive {
    entries: Vec<Entry>,
}

impl Archive {
    pub fn new() -> Archive {
        Archive::default()
    }

    fn push(mut self, name: impl AsRef<[u8]>, kind: Kind, mode: u32, raw: bool) -> Archive {
        self.entries.push(Entry { name: name.as_ref().to_vec(), kind, mode, raw });
        self
    }

    /// A regular file with permission bits `mode` (e.g. 0o755).
    pub fn file(self, path: &str, bytes: impl AsRef<[u8]>, mode: u32) -> Archive {
        self.push(path, Kind::File(bytes.as_ref().to_vec()), mode, false)
    }

    /// A directory (mode 0o755).
    pub fn dir(self, path: &str) -> Archive {
        self.push(path, Kind::Dir, 0o755, false)
    }

    /// A symlink; `target` is stored verbatim (may be absolute or contain `..`).
    pub fn symlink(self, path: &str, target: &str) -> Archive {
        self.push(path, Kind::Symlink(target.as_bytes().to_vec()), 0o777, false)
    }

    /// A hard link to `target` (an archive path, stored verbatim).
    pub fn hardlink(self, path: &str, target: &str) -> Archive {
        self.push(path, Kind::Hardlink(target.as_bytes().to_vec()), 0o644, false)
    }

    /// A character device (1,3 like /dev/null).
    pub fn char_device(self, path: &str) -> Archive {
        self.push(path, Kind::CharDevice(1, 3), 0o666, false)
    }

    /// A named pipe.
    pub fn fifo(self, path: &str) -> Archive {
        self.push(path, Kind::Fifo, 0o644, false)
    }

    /// A regular file whose name is written into the header verbatim, so it
    /// may be absolute (`/etc/x`) or contain `..` (`../escape`).
    pub fn raw_file(self, name: impl AsRef<[u8]>, bytes: impl AsRef<[u8]>, mode: u32) -> Archive {
        self.push(name, Kind::File(bytes.as_ref().to_vec()), mode, true)
    }

    /// A directory whose name is written verbatim.
    pub fn raw_dir(self, name: impl AsRef<[u8]>) -> Archive {
        self.push(name, Kind::Dir, 0o755, true)
    }

    /// A symlink whose name is written verbatim.
    pub fn raw_symlink(self, name: impl AsRef<[u8]>, target: &str) -> Archive {
        self.push(name, Kind::Symlink(target.as_bytes().to_vec()), 0o777, true)
    }

    /// A hard link whose name is written verbatim.
    pub fn raw_hardlink(self, name: impl AsRef<[u8]>, target: &str) -> Archive {
        self.push(name, Kind::Hardlink(target.as_bytes().to_vec()), 0o644, true)
    }

    /// The uncompressed tar bytes.
    pub fn tar(&self) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for e in &self.entries {
            write_entry(&mut builder, e)
                .unwrap_or_else(|err| panic!("archive entry {:?}: {err}", String::from_utf8_lossy(&e.name)));
        }
        builder.into_inner().expect("finish tar")
    }

    pub fn tar_gz(&self) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&self.tar()).unwrap();
        enc.finish().unwrap()
    }

    pub fn tar_xz(&self) -> Vec<u8> {
        let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 1);
        enc.write_all(&self.tar()).unwrap();
        enc.finish().unwrap()
    }
}

fn write_entry(builder: &mut tar::Builder<Vec<u8>>, e: &Entry) -> std::io::Result<()> {
    let mut h = Header::new_gnu();
    h.set_mode(e.mode);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    let mut data: &[u8] = &[];
    let mut link: Option<&[u8]> = None;
    match &e.kind {
        Kind::File(bytes) => {
            h.set_entry_type(EntryType::Regular);
            h.set_size(bytes.len() as u64);
            data = bytes;
        }
        Kind::Dir => h.set_entry_type(EntryType::Directory),
        Kind::Symlink(t) => {
            h.set_entry_type(EntryType::Symlink);
            link = Some(t);
        }
        Kind::Hardlink(t) => {
            h.set_entry_type(EntryType::Link);
            link = Some(t);
        }
        Kind::CharDevice(major, minor) => {
            h.set_entry_type(EntryType::Char);
            h.set_device_major(*major)?;
            h.set_device_minor(*minor)?;
        }
        Kind::Fifo => h.set_entry_type(EntryType::Fifo),
    }
    if let Some(target) = link {
        if target.len() > 100 {
            write_gnu_long(builder, EntryType::GNULongLink, target)?;
            h.set_link_name_literal(&target[..100])?;
        } else {
            h.set_link_name_literal(target)?;
        }
    }
    if e.raw {
        // Bypass tar's path checks: write the name bytes straight into the
        // header (with a GNU long-name record first if they do not fit).
        if e.name.len() > 100 {
            write_gnu_long(builder, EntryType::GNULongName, &e.name)?;
        }
        let n = e.name.len().min(100);
        let slot = &mut h.as_old_mut().name;
        slot.fill(0);
        slot[..n].copy_from_slice(&e.name[..n]);
        h.set_cksum();
        builder.append(&h, data)
    } else {
        let path = std::str::from_utf8(&e.name).expect("non-raw paths are UTF-8");
        builder.append_data(&mut h, path, data)
    }
}

/// Emits a GNU `././@LongLink` record carrying `value` for the next header.
fn write_gnu_long(builder: &mut tar::Builder<Vec<u8>>, kind: EntryType, value: &[u8]) -> std::io::Result<()> {
    let mut h = Header::new_gnu();
    let name = b"././@LongLink";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(kind);
    let mut payload = value.to_vec();
    payload.push(0);
    h.set_size(payload.len() as u64);
    h.set_cksum();
    builder.append(&h, payload.as_slice())
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    Sha256::digest(bytes.as_ref()).iter().map(|b| format!("{b:02x}")).collect()
}

/// func-e's `envoy-versions.json` for `(version, platform, url, sha256)`
/// entries, e.g. `("1.36.2", "linux/amd64", url, sha)`. `latestVersion` is the
/// highest version (numeric comparison); every version gets releaseDate
/// 2025-10-01; `sha256sums` is keyed by the URL's last path segment.
pub fn envoy_index(entries: &[(&str, &str, &str, &str)]) -> String {
    use serde_json::{Map, Value, json};
    let mut versions = Map::new();
    let mut sums = Map::new();
    for (version, platform, url, sha) in entries {
        let v =
            versions.entry(version.to_string()).or_insert_with(|| json!({"releaseDate": "2025-10-01", "tarballs": {}}));
        v["tarballs"][*platform] = Value::String(url.to_string());
        let base = url.rsplit('/').next().unwrap_or(url);
        sums.insert(base.to_string(), Value::String(sha.to_string()));
    }
    let key = |v: &str| -> Vec<u64> {
        v.trim_start_matches('v').split(['.', '-', '_']).map(|p| p.parse().unwrap_or(0)).collect()
    };
    let latest = entries.iter().map(|e| e.0).max_by_key(|v| key(v)).unwrap_or("");
    let index = json!({"latestVersion": latest, "versions": versions, "sha256sums": sums});
    serde_json::to_string_pretty(&index).unwrap()
}
