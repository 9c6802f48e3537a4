//! The catalogue shipped with gw: builds read out of container images, each
//! pinned by digest (src/builds/catalogue.toml).

use std::sync::OnceLock;

use serde::Deserialize;

use super::reference::{Flavor, Reference, Version};
use crate::oci::{Digest, ImageRef};

/// Where each image-only flavor's images live, and the binary's path in them.
pub fn image_home(flavor: Flavor) -> Option<(&'static str, &'static str)> {
    match flavor {
        Flavor::Standard => Some(("docker.io/envoyproxy/envoy", "/usr/local/bin/envoy")),
        Flavor::Cilium => Some(("quay.io/cilium/cilium-envoy", "/usr/bin/cilium-envoy")),
        Flavor::CiliumCli | Flavor::Hubble => None,
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub build: String,
    pub image: String,
    pub digest: Digest,
    pub vouched_by: String,
}

impl Entry {
    pub fn reference(&self) -> Reference {
        self.build.parse().expect("catalogue builds parse (tested)")
    }

    pub fn image(&self) -> ImageRef {
        self.image.parse().expect("catalogue images parse (tested)")
    }
}

#[derive(Deserialize)]
struct File {
    image: Vec<Entry>,
}

pub fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        toml::from_str::<File>(include_str!("catalogue.toml")).expect("the catalogue parses (tested)").image
    })
}

/// The entry for an exact version, or the newest on a minor line.
pub fn find(flavor: Flavor, version: &Version) -> Option<&'static Entry> {
    entries()
        .iter()
        .filter(|e| e.reference().flavor == flavor)
        .filter(|e| {
            let v = e.reference().version;
            if version.is_minor() { v.is_on_line(version) } else { &v == version }
        })
        .max_by_key(|e| e.reference().version)
}

/// The versions of a flavor the catalogue knows, for messages.
pub fn versions(flavor: Flavor) -> Vec<String> {
    entries().iter().map(Entry::reference).filter(|r| r.flavor == flavor).map(|r| r.version.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_well_formed() {
        for entry in entries() {
            let reference = entry.reference();
            let image = entry.image();
            let (home, _) = image_home(reference.flavor).expect("catalogue flavors come from images");
            assert_eq!(format!("{}/{}", image.registry, image.repository), home, "{}", entry.build);
            let tag = image.tag.expect("catalogue images name a tag");
            assert!(tag.starts_with(&format!("v{}-", reference.version)), "{}", entry.build);
        }
        let newest = find(Flavor::Cilium, &"1.31".parse().unwrap()).unwrap();
        assert_eq!(newest.build, "cilium:1.31.5");
    }
}
