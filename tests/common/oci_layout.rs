//! OCI image layouts written by the tests (what `skopeo copy oci:…` reads):
//! gzip or zstd tar layers, configs naming a platform, manifests and indexes.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use super::archive::sha256_hex;

pub struct Layout {
    pub dir: tempfile::TempDir,
}

/// A content descriptor as JSON.
pub type Descriptor = Value;

/// A layer's files: (path, bytes).
pub type Files<'a> = &'a [(&'a str, &'a [u8])];

/// How a layer is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zip {
    Gzip,
    Zstd,
}

impl Zip {
    pub fn media_type(self) -> &'static str {
        match self {
            Zip::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Zip::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// A compressed tar layer holding `files` (path, bytes), and its diff id; an
/// empty file named `.wh.<name>` is a whiteout, as in any image.
pub fn layer(files: &[(&str, &[u8])], zip: Zip) -> (Vec<u8>, String) {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        builder.append_data(&mut header, path, *bytes).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let diff_id = format!("sha256:{}", sha256_hex(&tar));
    let compressed = match zip {
        Zip::Gzip => {
            let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
            gz.write_all(&tar).unwrap();
            gz.finish().unwrap()
        }
        // Two frames, as zstd:chunked writes them: a reader must go on past the first.
        Zip::Zstd => {
            let (first, rest) = tar.split_at(tar.len() / 2);
            [first, rest].iter().flat_map(|part| zstd::encode_all(*part, 3).unwrap()).collect()
        }
    };
    (compressed, diff_id)
}

impl Layout {
    pub fn new() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        Layout { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let hex = sha256_hex(bytes);
        std::fs::write(self.blob_path(&hex), bytes).unwrap();
        json!({ "mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len() })
    }

    pub fn blob_path(&self, hex: &str) -> PathBuf {
        self.dir.path().join("blobs/sha256").join(hex.trim_start_matches("sha256:"))
    }

    /// An image of gzip `layers` (bottom first) for os/arch; returns its manifest's descriptor.
    pub fn image(&self, os: &str, arch: &str, layers: &[Files]) -> Descriptor {
        let zipped: Vec<_> = layers.iter().map(|files| (*files, Zip::Gzip)).collect();
        self.image_zipped(os, arch, &zipped)
    }

    /// The same, each layer compressed its own way.
    pub fn image_zipped(&self, os: &str, arch: &str, layers: &[(Files, Zip)]) -> Descriptor {
        let mut descriptors = Vec::new();
        let mut diff_ids = Vec::new();
        for (files, zip) in layers {
            let (bytes, diff_id) = layer(files, *zip);
            descriptors.push(self.blob(zip.media_type(), &bytes));
            diff_ids.push(diff_id);
        }
        let config = json!({
            "architecture": arch, "os": os,
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "config": {}
        });
        let config = self.blob("application/vnd.oci.image.config.v1+json", config.to_string().as_bytes());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": descriptors,
        });
        let mut descriptor = self.blob("application/vnd.oci.image.manifest.v1+json", manifest.to_string().as_bytes());
        descriptor["platform"] = json!({ "os": os, "architecture": arch });
        descriptor
    }

    /// An index over `manifests`; returns its descriptor.
    pub fn index(&self, manifests: Vec<Descriptor>) -> Descriptor {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        self.blob("application/vnd.oci.image.index.v1+json", index.to_string().as_bytes())
    }

    /// Names `descriptor` `tag` in the layout's index.json (one tag per layout).
    pub fn tag(&self, tag: &str, mut descriptor: Descriptor) {
        descriptor["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
        if let Some(object) = descriptor.as_object_mut() {
            object.remove("platform");
        }
        let index = json!({ "schemaVersion": 2, "manifests": [descriptor] });
        std::fs::write(self.dir.path().join("index.json"), index.to_string()).unwrap();
    }
}
