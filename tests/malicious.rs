//! Archives that try to write outside their directory are refused whole:
//! nothing installed, nothing written outside, nothing left in staging.

mod common;

use common::Archive;
use common::gw::Gw;

const TOP: &str = "envoy-v1.36.2-linux-amd64";

/// A normal Envoy archive plus `extra` entries.
fn with(extra: impl FnOnce(Archive) -> Archive) -> Vec<u8> {
    let base = Archive::new().dir(TOP).dir(&format!("{TOP}/bin")).file(&format!("{TOP}/bin/envoy"), b"envoy", 0o755);
    extra(base).tar_gz()
}

fn refused(archive: Vec<u8>, needle: &str) {
    let gw = Gw::new();
    gw.publish_envoy_bytes("1.36.2", "tar.gz", archive, None);
    let run = gw.run(&["fetch", "1.36.2"]);
    run.fails_with(1, needle);
    assert!(run.stderr.contains("nothing was installed"), "{}", run.stderr);
    assert!(gw.installed_dirs().is_empty(), "installed: {:?}", gw.installed_dirs());
    assert!(gw.staging_leftovers().is_empty(), "left: {:?}", gw.staging_leftovers());
    // Nothing escaped anywhere in the fixture's tree (home, work dir, their parent).
    let mut stack = vec![gw.root.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with("escaped"), "{} was written", entry.path().display());
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            }
        }
    }
}

#[test]
fn parent_directory_names() {
    let deep = "../".repeat(12) + "escaped-parent";
    refused(with(|a| a.raw_file(format!("{TOP}/../../escaped-dotdot"), b"x", 0o644)), "'..' component");
    refused(with(|a| a.raw_file(deep.as_str(), b"x", 0o644)), "'..' component");
}

#[test]
fn absolute_names() {
    let target = std::env::temp_dir().join("escaped-absolute-gw-test");
    let _ = std::fs::remove_file(&target);
    refused(with(|a| a.raw_file(target.to_str().unwrap(), b"x", 0o644)), "absolute path");
    assert!(!target.exists());
}

#[test]
fn symlinks_that_leave_the_archive() {
    refused(with(|a| a.symlink(&format!("{TOP}/bin/passwd"), "/etc/passwd")), "symbolic link to '/etc/passwd'");
    refused(with(|a| a.symlink(&format!("{TOP}/up"), "../../escaped")), "outside the archive");
    // A link that climbs exactly to the root is fine by itself; writing through
    // it stays inside. One more level is refused.
    refused(with(|a| a.symlink(&format!("{TOP}/bin/up"), "../../..")), "outside the archive");
}

#[test]
fn writing_through_a_symlink_chain() {
    // `loop` points at its own directory: lexically deep, physically shallow.
    // A link made through it must be judged by where it really is.
    refused(
        with(|a| {
            a.symlink(&format!("{TOP}/loop"), ".").raw_symlink(format!("{TOP}/loop/loop/loop/x"), "../../escaped")
        }),
        "outside the archive",
    );
}

#[test]
fn hard_links_outside() {
    refused(with(|a| a.raw_hardlink(format!("{TOP}/bin/shadow"), "/etc/shadow")), "hard link to '/etc/shadow'");
    refused(with(|a| a.raw_hardlink(format!("{TOP}/bin/x"), "../../escaped")), "hard link");
}

#[test]
fn device_files_and_pipes() {
    refused(with(|a| a.char_device(&format!("{TOP}/bin/null"))), "is a device file");
    refused(with(|a| a.fifo(&format!("{TOP}/bin/pipe"))), "is a named pipe");
}

#[test]
fn links_inside_the_archive_are_kept() {
    let gw = Gw::new();
    let archive = with(|a| a.symlink(&format!("{TOP}/bin/envoy-alias"), "envoy").symlink(&format!("{TOP}/lib"), "bin"));
    gw.publish_envoy_bytes("1.36.2", "tar.gz", archive, None);
    gw.run(&["fetch", "1.36.2"]).ok();
    let alias = gw.installed("standard", "1.36.2", "envoy-alias");
    assert_eq!(std::fs::read_link(&alias).unwrap().to_str(), Some("envoy"));
}

#[test]
fn an_archive_without_the_binary_is_refused() {
    let gw = Gw::new();
    gw.publish_envoy_bytes("1.36.2", "tar.gz", Archive::new().file("README", b"hi", 0o644).tar_gz(), None);
    gw.run(&["fetch", "1.36.2"]).fails_with(1, "has no bin/envoy");
    assert!(gw.installed_dirs().is_empty());
}
